// In-app discharge alerts: poll the feed, show a banner per open alert (neither acknowledged
// nor resolved: a resolved one leaves at the next poll), play a sound and raise a browser
// notification for each new one, acknowledge on click. On the wall display (no feed URL)
// the alerts come with the dashboard's feed instead: dashboard.js sends them in a
// "recovery:alerts" event. A 401 (signed out) is announced as "clinic:signed-out".
// Markup: templates/_alerts.html; each kind's class comes from choices.js (AlertKind). Only
// textContent is written: nothing is parsed as HTML.
"use strict";

(function () {
  const POLL_MS = 5000;
  const root = document.getElementById("alerts");
  if (!root) {
    return;
  }
  const list = root.querySelector("[data-alerts-list]");
  const template = root.querySelector("[data-alerts-template]");
  const staleBanner = root.querySelector("[data-alerts-stale]");
  const enableButton = root.querySelector("[data-alerts-enable]");
  const status = root.querySelector("[data-alerts-status]");
  const sound = new Audio(root.dataset.soundUrl);
  const seen = new Set();
  let soundAllowed = false;
  let firstPoll = true;
  let canAcknowledge = false;
  let signedOut = false;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function ackUrl(id) {
    return root.dataset.ackUrl.replace(/0\/ack$/, String(id) + "/ack");
  }

  function notifyBrowser(alert) {
    if (!("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    const note = new Notification(alert.title + " · " + alert.chair, {
      body: alert.patient_initials + " · due " + alert.due_local,
      tag: "infusion-alert-" + alert.id,
      requireInteraction: true,
    });
    note.onclick = function () {
      window.focus();
      note.close();
    };
  }

  function ring() {
    if (!soundAllowed) {
      return;
    }
    sound.currentTime = 0;
    sound.play().catch(function () {
      say("Click “Turn on sound and desktop alerts” to hear alerts.");
    });
  }

  function render(alert, isNew) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.alertId = String(alert.id);
    node.classList.add(window.choices.css("alert_kind", alert.kind));
    if (isNew) {
      node.classList.add("alerts-new");
    }
    node.querySelectorAll("[data-field]").forEach(function (field) {
      field.textContent = alert[field.dataset.field];
    });
    node.querySelector("time").setAttribute("datetime", alert.due_at);
    const button = node.querySelector("[data-alerts-ack]");
    if (button && canAcknowledge) {
      button.addEventListener("click", function () {
        acknowledge(alert.id, node, button);
      });
    } else if (button) {
      button.remove();
    }
    return node;
  }

  function acknowledge(id, node, button) {
    button.disabled = true;
    fetch(ackUrl(id), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": root.dataset.csrfToken, Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        node.remove();
        say("Acknowledged.");
      })
      .catch(function () {
        button.disabled = false;
        say("Could not acknowledge: try again.");
      });
  }

  function show(feed) {
    canAcknowledge = feed.can_acknowledge;
    staleBanner.classList.toggle("d-none", feed.scheduler.alive);
    const fresh = [];
    const nodes = feed.alerts.map(function (alert) {
      const isNew = !seen.has(alert.id);
      if (isNew) {
        seen.add(alert.id);
        fresh.push(alert);
      }
      return render(alert, isNew && !firstPoll);
    });
    list.replaceChildren.apply(list, nodes);
    if (fresh.length) {
      ring();
      if (!firstPoll) {
        fresh.forEach(notifyBrowser);
      }
    }
    firstPoll = false;
  }

  function poll() {
    fetch(root.dataset.feedUrl, {
      credentials: "same-origin",
      // Polling is not the user's activity: it must not keep the session alive.
      headers: { Accept: "application/json", "X-Auto-Refresh": "1" },
    })
      .then(function (response) {
        if (response.status === 401 && !signedOut) {
          signedOut = true;
          document.dispatchEvent(new CustomEvent("clinic:signed-out"));
        }
        if (!response.ok || response.redirected) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (feed) {
        show(feed);
        say("");
      })
      .catch(function () {
        say(signedOut ? "Signed out: alerts have stopped." : "Alerts could not be loaded; retrying…");
      })
      .finally(function () {
        if (!signedOut) {
          window.setTimeout(poll, POLL_MS);
        }
      });
  }

  if (enableButton) {
    enableButton.addEventListener("click", function () {
      // Browsers play sound only after a click on the page: this click unlocks it.
      soundAllowed = true;
      sound.play().then(function () {
        sound.pause();
        sound.currentTime = 0;
      }).catch(function () {});
      if ("Notification" in window && Notification.permission === "default") {
        Notification.requestPermission().then(function (permission) {
          say(permission === "granted" ? "Sound and desktop alerts on." : "Sound on.");
        });
      } else {
        say("Sound on.");
      }
      enableButton.remove();
    });
  }

  document.addEventListener("clinic:signed-out", function () {
    signedOut = true;
  });
  if (root.dataset.feedUrl) {
    poll();
  } else {
    document.addEventListener("recovery:alerts", function (event) {
      show(event.detail);
    });
    // The dashboard may have rendered before this script ran: ask for its latest feed.
    document.dispatchEvent(new CustomEvent("alerts:ready"));
  }
})();
