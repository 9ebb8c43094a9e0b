// The nurses' recovery dashboard: poll the session feed every second (ETag / 304), rebuild the
// cards from JSON, and run every countdown in the browser on the server's clock (the offset
// between server_time and this browser's clock). The DOM is built with textContent only:
// nothing from the feed is ever parsed as HTML. At the first 401 (the session ended) the
// page stops, never to look live again: a full-screen "Signed out: alerts have stopped"
// overlay, a sound every 30 s, and a link to sign in and come back here.
"use strict";

(function () {
  const root = document.getElementById("recovery");
  if (!root) {
    return;
  }
  const POLL_MS = 1000;
  const TICK_MS = 200;
  const OFFLINE_AFTER = 3; // failed polls before the page says it is offline
  const wall = root.dataset.wall === "1";
  const displayLink = root.dataset.displayLink === "1";
  const canClinical = root.dataset.canClinical === "1";
  const feedUrl = root.dataset.feedUrl;
  const visitUrl = root.dataset.visitUrl;
  const grid = root.querySelector("[data-cards]");
  const empty = root.querySelector("[data-empty]");
  const liveBadge = root.querySelector("[data-live]");
  const clockNode = root.querySelector("[data-clock]");
  const summary = root.querySelector("[data-summary]");
  const tz = root.dataset.timezone;
  const hm = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const hms = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });

  const STATUS = { checked_in: "Checked in", infusing: "Infusing", recovering: "Recovering" };
  const FLAGS = {
    bp_critical: "BP critical",
    bp_high: "BP high",
    bp_above_baseline: "BP > baseline",
    hr_high: "HR high",
    hr_low: "HR low",
    spo2_low: "SpO₂ low",
  };
  const FLAG_FIELDS = {
    bp_critical: ["bp"],
    bp_high: ["bp"],
    bp_above_baseline: ["bp"],
    hr_high: ["heart_rate"],
    hr_low: ["heart_rate"],
    spo2_low: ["spo2"],
  };
  const DUE_KIND = {
    baseline: "Baseline",
    peak: "40-min peak",
    recovery: "Recovery check",
    pre_discharge: "Pre-discharge",
  };
  const ACTIONS = {
    checked_in: [["start_infusion", "Start infusion", "btn-primary"], ["vitals", "Vitals", "btn-outline-primary"]],
    infusing: [["end_infusion", "End infusion", "btn-teal"], ["vitals", "Vitals", "btn-outline-primary"]],
    recovering: [
      ["vitals", "Vitals", "btn-outline-primary"],
      ["extend", "Extend", "btn-outline-secondary"],
      ["discharge", "Discharge", "btn-success"],
    ],
  };

  let feed = null;
  let etag = root.dataset.etag || null;
  let offsetMs = 0;
  let failures = 0;
  let pollTimer = null;
  let tickTimer = null;
  let inFlight = false;
  let stopped = false;
  let lastUpdate = null; // the server's time of the last answer (shown when signed out)

  // ------------------------------------------------------------ time

  function parseInstant(text) {
    if (!text) {
      return null;
    }
    return Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1"));
  }

  function serverNow() {
    return Date.now() + offsetMs;
  }

  function syncClock(serverTime, sentAt, receivedAt) {
    const server = parseInstant(serverTime);
    if (server === null || isNaN(server)) {
      return;
    }
    // The server read its clock somewhere between sending and receiving: take the middle.
    offsetMs = server - (sentAt + receivedAt) / 2;
  }

  function two(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function clockText(seconds) {
    const s = Math.abs(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = s % 60;
    return h ? h + ":" + two(m) + ":" + two(rest) : m + ":" + two(rest);
  }

  function minutesText(minutes) {
    if (minutes < 60) {
      return minutes + " min";
    }
    return Math.floor(minutes / 60) + " h " + two(minutes % 60) + " min";
  }

  function local(text) {
    const at = parseInstant(text);
    return at === null ? "" : hm.format(new Date(at));
  }

  // ------------------------------------------------------------ DOM helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function append(parent) {
    for (let i = 1; i < arguments.length; i += 1) {
      if (arguments[i]) {
        parent.appendChild(arguments[i]);
      }
    }
    return parent;
  }

  // ------------------------------------------------------------ one card

  function countdownBlock(v) {
    const block = el("div", "rc-countdown");
    const label = el("div", "rc-countdown-label");
    const value = el("div", "rc-countdown-value");
    const sub = el("div", "rc-countdown-sub");
    value.setAttribute("data-countdown-value", "");
    label.setAttribute("data-countdown-label", "");
    if (v.status === "recovering" && v.discharge_due_at) {
      sub.textContent =
        "due " + local(v.discharge_due_at) +
        (v.extension_minutes ? " · extended +" + v.extension_minutes + " min" : "");
    } else if (v.status === "infusing") {
      label.textContent = "Infusion";
      const bar = el("div", "rc-progress");
      const fill = el("div", "rc-progress-fill");
      fill.setAttribute("data-progress", "");
      bar.appendChild(fill);
      sub.textContent = "of " + v.infusion_minutes + " min · started " + local(v.infusion_started_at);
      append(block, label, value, bar, sub);
      return block;
    } else {
      label.textContent = "Waiting";
      sub.textContent =
        "checked in " + local(v.checked_in_at) + " · start planned " + local(v.infusion_start);
    }
    append(block, label, value, sub);
    return block;
  }

  function vitalsBlock(v) {
    const block = el("div", "rc-vitals");
    const reading = v.latest_observation;
    if (!reading) {
      append(block, el("div", "rc-vitals-none", "No vitals yet"));
      return block;
    }
    const flagged = new Set();
    (reading.flags || []).forEach(function (flag) {
      (FLAG_FIELDS[flag] || []).forEach(function (field) {
        flagged.add(field);
      });
    });
    const row = el("div", "rc-vitals-row");
    const items = [
      ["bp", "BP", reading.systolic + "/" + reading.diastolic, ""],
      ["heart_rate", "HR", reading.heart_rate, ""],
      ["spo2", "SpO₂", reading.spo2, "%"],
    ];
    if (reading.respiratory_rate !== null && reading.respiratory_rate !== undefined) {
      items.push(["rr", "RR", reading.respiratory_rate, ""]);
    }
    items.forEach(function (item) {
      const cell = el("div", "rc-vital" + (flagged.has(item[0]) ? " is-flagged" : ""));
      const value = el("span", "rc-vital-value", item[2]);
      if (item[3]) {
        value.appendChild(el("span", "rc-vital-unit", item[3]));
      }
      append(cell, el("span", "rc-vital-name", item[1]), value);
      row.appendChild(cell);
    });
    block.appendChild(row);
    const meta = el("div", "rc-vitals-meta");
    const when = el("span", "rc-vitals-at", local(reading.at));
    when.setAttribute("data-ago", reading.at);
    meta.appendChild(when);
    const flags = (reading.flags || []).filter(function (flag) {
      return !(flag === "bp_high" && reading.flags.indexOf("bp_critical") !== -1);
    });
    flags.forEach(function (flag) {
      meta.appendChild(el("span", "rc-flag rc-flag-" + flag, FLAGS[flag] || flag));
    });
    block.appendChild(meta);
    const effects = [
      ["Dissociation", reading.dissociation, 4],
      ["Nausea", reading.nausea, 3],
      ["Dizziness", reading.dizziness, 3],
    ].filter(function (e) {
      return e[1] !== null && e[1] !== undefined;
    });
    if (effects.length) {
      const line = el("div", "rc-effects");
      effects.forEach(function (e) {
        const chip = el("span", "rc-effect" + (e[1] >= 2 ? " is-high" : ""), e[0] + " " + e[1] + "/" + e[2]);
        line.appendChild(chip);
      });
      block.appendChild(line);
    }
    if (!wall && reading.note) {
      block.appendChild(el("div", "rc-note", reading.note));
    }
    return block;
  }

  function dueBlock(v) {
    const block = el("div", "rc-due");
    (v.vitals_due || []).forEach(function (item) {
      append(
        block,
        el("div", "rc-due-item is-due", "Vitals due · " + (DUE_KIND[item.kind] || item.kind) + " (" + local(item.due_at) + ")")
      );
    });
    const missed = v.vitals_missed || [];
    if (missed.length) {
      const line = el("div", "rc-due-item is-missed");
      line.appendChild(el("span", "rc-missed-label", missed.length + " missed"));
      missed.slice(-4).forEach(function (item) {
        const chip = el("span", "rc-missed-time", local(item.due_at));
        chip.title = (DUE_KIND[item.kind] || item.kind) + " due " + local(item.due_at);
        line.appendChild(chip);
      });
      if (missed.length > 4) {
        line.appendChild(el("span", "rc-missed-more", "+" + (missed.length - 4) + " earlier"));
      }
      append(block, line);
    }
    const next = v.vitals_next;
    if (next && next.state === "upcoming") {
      append(block, el("div", "rc-due-item is-next", "Next vitals " + local(next.due_at) + " · " + (DUE_KIND[next.kind] || next.kind)));
    }
    return block.childNodes.length ? block : null;
  }

  function clashBlock(v) {
    const lines = [];
    if (v.chair_clash_minutes > 0 && v.next_chair_booking_at) {
      lines.push(
        "Running " + v.chair_clash_minutes + " min over: " + v.chair + "’s next patient at " +
          local(v.next_chair_booking_at) + " is affected."
      );
    }
    if (v.bay_clash_minutes > 0 && v.next_bay_booking_at) {
      lines.push(
        "Running " + v.bay_clash_minutes + " min over: " + (v.recovery_chair || "the bay") +
          "’s next patient at " + local(v.next_bay_booking_at) + " is affected."
      );
    }
    if (!lines.length) {
      return null;
    }
    const block = el("div", "rc-clash");
    block.setAttribute("role", "alert");
    lines.forEach(function (line) {
      block.appendChild(el("div", "rc-warning-line", line));
    });
    return block;
  }

  function actionsBlock(v) {
    if (wall) {
      return null;
    }
    const bar = el("div", "rc-actions");
    if (canClinical) {
      (ACTIONS[v.status] || []).forEach(function (action) {
        const button = el("button", "btn " + action[2] + " rc-action", action[1]);
        button.type = "button";
        button.dataset.nursingAction = action[0];
        button.dataset.visitId = String(v.id);
        button.dataset.visitLabel = v.chair + " · " + v.patient_label;
        bar.appendChild(button);
      });
    }
    if (!canClinical) {
      const link = el("a", "btn btn-outline-secondary rc-open", "Open visit");
      link.href = visitUrl.replace(/0$/, String(v.id));
      bar.appendChild(link);
    }
    return bar;
  }

  function buildCard(v) {
    const card = el("article", "rc-card status-" + v.status);
    card.dataset.visitId = String(v.id);
    card.dataset.status = v.status;
    card.setAttribute("aria-label", v.chair + ", " + v.patient_label + ", " + (STATUS[v.status] || v.status));
    const head = el("header", "rc-head");
    const place = el("div", "rc-place");
    if (wall) {
      append(place, el("div", "rc-chair", v.chair));
    } else {
      const link = el("a", "rc-chair rc-chair-link", v.chair);
      link.href = visitUrl.replace(/0$/, String(v.id));
      link.title = "Open the visit";
      append(place, link);
    }
    if (v.recovery_chair && v.recovery_chair !== v.chair && v.status === "recovering") {
      append(place, el("div", "rc-bay", "recovering in " + v.recovery_chair));
    }
    const who = el("div", "rc-initials", v.patient_label);
    who.setAttribute("title", "Patient initials");
    const state = el("div", "rc-state");
    const pill = el("span", "status-badge status-" + v.status, STATUS[v.status] || v.status);
    const since = el("span", "rc-since");
    since.setAttribute("data-since", v.phase_started_at || "");
    append(state, pill, since);
    append(head, who, place, state);
    append(
      card,
      head,
      countdownBlock(v),
      vitalsBlock(v),
      dueBlock(v),
      clashBlock(v),
      el("div", "rc-overrun d-none"),
      actionsBlock(v)
    );
    return card;
  }

  // ------------------------------------------------------------ render and tick

  function render() {
    publishAlerts();
    const visits = feed.visits;
    grid.replaceChildren.apply(grid, visits.map(buildCard));
    empty.classList.toggle("d-none", visits.length > 0);
    grid.classList.toggle("d-none", visits.length === 0);
    root.classList.add("is-live");
    tick();
  }

  function countdownState(v, now) {
    const due = parseInstant(v.discharge_due_at);
    if (due === null) {
      return ["none", null];
    }
    const seconds = Math.ceil((due - now) / 1000);
    if (now > due + feed.overdue_after_minutes * 60000) {
      return ["overdue", seconds];
    }
    if (now >= due) {
      return ["due", seconds];
    }
    if (now >= due - feed.amber_minutes * 60000) {
      return ["amber", seconds];
    }
    return ["ok", seconds];
  }

  function setText(node, text) {
    if (node && node.textContent !== text) {
      node.textContent = text;
    }
  }

  function tickCard(card, v, now) {
    const result = countdownState(v, now);
    const state = result[0];
    const seconds = result[1];
    if (card.dataset.countdown !== state) {
      card.dataset.countdown = state;
      ["ok", "amber", "due", "overdue", "none"].forEach(function (s) {
        card.classList.toggle("cd-" + s, s === state);
      });
    }
    const value = card.querySelector("[data-countdown-value]");
    const label = card.querySelector("[data-countdown-label]");
    if (v.status === "recovering") {
      if (state === "ok" || state === "amber") {
        setText(label, "Discharge in");
        setText(value, clockText(seconds));
      } else if (state === "due") {
        setText(label, "Discharge due");
        setText(value, seconds === 0 ? "Due now" : "+" + clockText(-seconds));
      } else if (state === "overdue") {
        setText(label, "Overdue");
        setText(value, "+" + clockText(-seconds));
      }
    }
    const since = parseInstant(card.querySelector("[data-since]").getAttribute("data-since"));
    const minutesIn = since === null ? null : Math.max(0, Math.floor((now - since) / 60000));
    setText(card.querySelector("[data-since]"), minutesIn === null ? "" : "for " + minutesText(minutesIn));
    if (v.status === "checked_in") {
      setText(value, minutesIn === null ? "" : minutesText(minutesIn));
    }
    if (v.status === "infusing") {
      const started = parseInstant(v.infusion_started_at);
      const elapsed = Math.max(0, Math.floor((now - started) / 60000));
      setText(value, elapsed + " min");
      const fill = card.querySelector("[data-progress]");
      const percent = Math.min(100, (100 * (now - started)) / (v.infusion_minutes * 60000));
      fill.style.width = percent.toFixed(1) + "%";
      const over = elapsed - v.infusion_minutes;
      const overrun = card.querySelector(".rc-overrun");
      overrun.classList.toggle("d-none", over <= 0);
      card.classList.toggle("is-overrun", over > 0);
      if (over > 0) {
        setText(overrun, "Infusion running " + over + " min over plan.");
      }
    }
    card.querySelectorAll("[data-ago]").forEach(function (node) {
      const at = parseInstant(node.getAttribute("data-ago"));
      const ago = Math.max(0, Math.floor((now - at) / 60000));
      setText(node, hm.format(new Date(at)) + " · " + (ago === 0 ? "just now" : minutesText(ago) + " ago"));
    });
    return state;
  }

  function tick() {
    const now = serverNow();
    if (clockNode) {
      setText(clockNode, hms.format(new Date(now)));
    }
    if (!feed) {
      return;
    }
    const counts = { checked_in: 0, infusing: 0, recovering: 0, due: 0 };
    const byId = new Map(feed.visits.map(function (v) {
      return [String(v.id), v];
    }));
    grid.querySelectorAll(".rc-card").forEach(function (card) {
      const v = byId.get(card.dataset.visitId);
      if (!v) {
        return;
      }
      const state = tickCard(card, v, now);
      counts[v.status] += 1;
      if (state === "due" || state === "overdue") {
        counts.due += 1;
      }
    });
    if (summary) {
      setText(summary.querySelector("[data-count=total]"), String(feed.visits.length));
      ["checked_in", "infusing", "recovering", "due"].forEach(function (key) {
        const node = summary.querySelector("[data-count=" + key + "]");
        setText(node, String(counts[key]));
        const chip = node && node.closest(".summary-chip");
        if (chip) {
          chip.classList.toggle("is-zero", counts[key] === 0);
        }
      });
    }
  }

  // ------------------------------------------------------------ polling

  function setLive(ok, text) {
    if (!liveBadge) {
      return;
    }
    liveBadge.classList.toggle("is-offline", !ok);
    setText(liveBadge.querySelector("[data-live-text]"), text);
  }

  function schedule(delay) {
    window.clearTimeout(pollTimer);
    if (!stopped) {
      pollTimer = window.setTimeout(poll, delay);
    }
  }

  // The wall display's alerts come with its feed; alerts.js shows and sounds them.
  function publishAlerts() {
    if (feed && feed.wall_alerts) {
      document.dispatchEvent(new CustomEvent("recovery:alerts", { detail: feed.wall_alerts }));
    }
  }

  // ------------------------------------------------------------ signed out

  const REPEAT_CUE_MS = 30000;

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
    window.clearTimeout(pollTimer);
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
    if (!overlay) {
      return;
    }
    if (lastUpdate !== null) {
      setText(overlay.querySelector("[data-signed-out-since]"), "Last update " + hms.format(new Date(lastUpdate)) + ".");
    }
    // Above everything else, which no longer takes clicks, focus or screen readers.
    document.body.appendChild(overlay);
    Array.prototype.forEach.call(document.body.children, function (child) {
      if (child !== overlay) {
        child.inert = true;
      }
    });
    overlay.hidden = false;
    const signIn = overlay.querySelector("[data-signed-out-sign-in]");
    (signIn || overlay).focus();
    const sound = new Audio(overlay.dataset.soundUrl);
    cue(overlay, sound);
    window.setInterval(function () {
      cue(overlay, sound);
    }, REPEAT_CUE_MS);
  }

  function poll() {
    if (inFlight || stopped) {
      return;
    }
    inFlight = true;
    // An automatic refresh is not the user's activity: it must not keep a session alive.
    const headers = { Accept: "application/json", "X-Auto-Refresh": "1" };
    if (etag) {
      headers["If-None-Match"] = '"' + etag + '"';
    }
    const sentAt = Date.now();
    fetch(feedUrl, { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (response) {
        const receivedAt = Date.now();
        if (response.status === 304) {
          syncClock(response.headers.get("X-Server-Time"), sentAt, receivedAt);
          lastUpdate = serverNow();
          return null;
        }
        // Signed out, or (on a display link) the link revoked: this screen is no longer live.
        if (response.status === 401 || (displayLink && response.status === 404)) {
          stop();
          throw new Error("signed out");
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json().then(function (body) {
          syncClock(body.server_time, sentAt, receivedAt);
          etag = (response.headers.get("ETag") || "").replace(/^W\//, "").replace(/"/g, "") || null;
          feed = body;
          lastUpdate = serverNow();
          render();
        });
      })
      .then(function () {
        failures = 0;
        setLive(true, "Live");
      })
      .catch(function () {
        failures += 1;
        if (failures >= OFFLINE_AFTER && !stopped) {
          setLive(false, "Offline · retrying");
        }
      })
      .finally(function () {
        inFlight = false;
        schedule(POLL_MS);
      });
  }

  // The page came with the dashboard as it was when rendered: show it at once, then poll.
  try {
    feed = JSON.parse(root.dataset.initial);
    syncClock(feed.server_time, Date.now(), Date.now());
    render();
  } catch (error) {
    feed = null;
  }
  tickTimer = window.setInterval(tick, TICK_MS);
  document.addEventListener("nursing:changed", function () {
    schedule(0);
  });
  document.addEventListener("clinic:signed-out", stop);
  document.addEventListener("alerts:ready", publishAlerts);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      schedule(0);
    }
  });
  // A first poll at once: its X-Server-Time corrects the clock for the page's load time.
  schedule(0);
})();
