// The recovery board (templates/nursing/dashboard.html). The server draws every card; htmx
// polls the board's block every second (ETag / 304, X-Auto-Refresh so a poll never counts as
// activity) and swaps it in. This script only keeps the ETag, ticks the discharge countdowns
// and the clock on the server's time (X-Server-Time) between swaps, and, at the first 401 (or
// a revoked display link's 404), stops for good behind a "Signed out: alerts have stopped"
// cover that sounds every 30 s.
"use strict";

(function () {
  const root = document.getElementById("recovery");
  const board = document.getElementById("recovery-board");
  if (!root || !board) {
    return;
  }
  const TICK_MS = 200;
  const OFFLINE_AFTER = 3; // failed polls before the page says it is offline
  const REPEAT_CUE_MS = 30000;
  const displayLink = root.dataset.displayLink === "1";
  const liveBadge = root.querySelector("[data-live]");
  const clockNode = root.querySelector("[data-clock]");
  const hms = new Intl.DateTimeFormat("en-GB", {
    timeZone: root.dataset.timezone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  let etag = board.dataset.etag || null;
  let offsetMs = 0;
  let failures = 0;
  let stopped = false;
  let tickTimer = null;
  let lastUpdate = null; // the server's time of the last answer (shown when signed out)
  let sentAt = 0;

  function instant(text) {
    return text ? Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1")) : NaN;
  }

  function serverNow() {
    return Date.now() + offsetMs;
  }

  function syncClock(serverTime, sent, received) {
    const server = instant(serverTime);
    if (!isNaN(server)) {
      // The server read its clock somewhere between sending and receiving: take the middle.
      offsetMs = server - (sent + received) / 2;
    }
  }

  function setText(node, text) {
    if (node && node.textContent !== text) {
      node.textContent = text;
    }
  }

  function two(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function clockText(seconds) {
    const s = Math.abs(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + two(m) : m) + ":" + two(s % 60);
  }

  // A recovering card counts down to its due instant; the server set its thresholds.
  function tickCard(card, now) {
    const due = instant(card.dataset.due);
    if (isNaN(due)) {
      return card.dataset.countdown;
    }
    const seconds = Math.ceil((due - now) / 1000);
    let state = "ok";
    if (now > instant(card.dataset.overdue)) {
      state = "overdue";
    } else if (now >= due) {
      state = "due";
    } else if (now >= instant(card.dataset.amber)) {
      state = "amber";
    }
    if (card.dataset.countdown !== state) {
      card.dataset.countdown = state;
      window.choices.values("countdown").forEach(function (value) {
        card.classList.toggle(window.choices.css("countdown", value), value === state);
      });
    }
    const label = card.querySelector("[data-countdown-label]");
    const value = card.querySelector("[data-countdown-value]");
    if (state === "ok" || state === "amber") {
      setText(label, "Discharge in");
      setText(value, clockText(seconds));
    } else {
      setText(label, state === "due" ? "Discharge due" : "Overdue");
      setText(value, seconds === 0 ? "Due now" : "+" + clockText(-seconds));
    }
    return state;
  }

  function tick() {
    const now = serverNow();
    setText(clockNode, hms.format(new Date(now)));
    let due = 0;
    board.querySelectorAll(".rc-card").forEach(function (card) {
      const state = tickCard(card, now);
      due += state === "due" || state === "overdue" ? 1 : 0;
    });
    const count = root.querySelector("[data-count-due]");
    setText(count, String(due));
    if (count) {
      count.closest(".summary-chip").classList.toggle("is-zero", due === 0);
    }
  }

  // After a swap: the infusions' progress bars (the CSP forbids style attributes), the
  // wall's alerts for alerts.js, and a tick so a card never shows the server's first paint.
  function settle() {
    board.querySelectorAll("[data-progress]").forEach(function (bar) {
      bar.style.transition = "none"; // a new bar: grow it at once, not from zero
      bar.style.width = bar.dataset.progress + "%";
    });
    publishAlerts();
    tick();
  }

  function publishAlerts() {
    const node = board.querySelector("[data-wall-alerts]");
    if (node) {
      const detail = JSON.parse(node.dataset.wallAlerts);
      document.dispatchEvent(new CustomEvent("recovery:alerts", { detail: detail }));
    }
  }

  function setLive(ok, text) {
    liveBadge.classList.toggle("is-offline", !ok);
    setText(liveBadge.querySelector("[data-live-text]"), text);
  }

  function cue(overlay, sound) {
    overlay.dataset.cues = String(Number(overlay.dataset.cues || 0) + 1);
    sound.currentTime = 0;
    sound.play().catch(function () {
      setText(overlay.querySelector("[data-signed-out-sound]"), "The browser blocked the sound: this screen is silent.");
    });
  }

  // Stop for good: no polling, no ticking, nothing that looks live; cover the page.
  function stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    window.clearInterval(tickTimer);
    document.dispatchEvent(new CustomEvent("clinic:signed-out")); // alerts.js stops too
    root.classList.remove("is-live");
    root.classList.add("is-stopped");
    setLive(false, displayLink ? "Link revoked" : "Signed out");
    root.querySelectorAll("[data-countdown-value]").forEach(function (node) {
      node.textContent = "–";
    });
    setText(clockNode, "--:--");
    const overlay = document.getElementById("signed-out");
    if (lastUpdate !== null) {
      setText(overlay.querySelector("[data-signed-out-since]"), "Last update " + hms.format(new Date(lastUpdate)) + ".");
    }
    // Above everything else, which no longer takes clicks, focus or screen readers.
    document.body.appendChild(overlay);
    Array.prototype.forEach.call(document.body.children, function (child) {
      child.inert = child !== overlay;
    });
    overlay.hidden = false;
    (overlay.querySelector("[data-signed-out-sign-in]") || overlay).focus();
    const sound = new Audio(overlay.dataset.soundUrl);
    cue(overlay, sound);
    window.setInterval(function () {
      cue(overlay, sound);
    }, REPEAT_CUE_MS);
  }

  // The board's own polls (the cards' buttons load dialogs: their events bubble up here too).
  function mine(event) {
    return event.detail.elt === board;
  }

  board.addEventListener("htmx:configRequest", function (event) {
    if (!mine(event)) {
      return;
    }
    if (stopped) {
      event.preventDefault();
      return;
    }
    // An automatic refresh is not the user's activity: it must not keep a session alive.
    Object.assign(event.detail.headers, { "X-Auto-Refresh": "1" });
    if (etag) {
      event.detail.headers["If-None-Match"] = '"' + etag + '"';
    }
    sentAt = Date.now();
  });
  board.addEventListener("htmx:beforeSwap", function (event) {
    if (mine(event)) {
      event.detail.shouldSwap = event.detail.xhr.status === 200;
    }
  });
  board.addEventListener("htmx:afterRequest", function (event) {
    if (!mine(event)) {
      return;
    }
    const xhr = event.detail.xhr;
    // Signed out, or (on a display link) the link revoked: this screen is no longer live.
    if (xhr.status === 401 || (displayLink && xhr.status === 404)) {
      stop();
    } else if (xhr.status === 200 || xhr.status === 304) {
      syncClock(xhr.getResponseHeader("X-Server-Time"), sentAt, Date.now());
      etag = (xhr.getResponseHeader("ETag") || "").replace(/^W\//, "").replace(/"/g, "") || etag;
      lastUpdate = serverNow();
      failures = 0;
      setLive(true, "Live");
      root.classList.add("is-live");
    } else if (++failures >= OFFLINE_AFTER && !stopped) {
      setLive(false, "Offline · retrying");
    }
  });
  board.addEventListener("htmx:afterSwap", function (event) {
    if (mine(event)) {
      settle();
    }
  });
  document.body.addEventListener("htmx:oobAfterSwap", settle);

  function refresh() {
    if (!stopped) {
      window.htmx.trigger(board, "recovery:refresh");
    }
  }

  const sent = Date.now();
  syncClock(root.dataset.serverTime, sent, sent);
  settle();
  tickTimer = window.setInterval(tick, TICK_MS);
  document.addEventListener("nursing:changed", refresh);
  document.addEventListener("clinic:signed-out", stop);
  document.addEventListener("alerts:ready", publishAlerts);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      refresh();
    }
  });
  // A first poll once htmx is ready: its X-Server-Time corrects the clock for the load time.
  document.addEventListener("DOMContentLoaded", refresh);
})();
