// deskui: the alerts opt-in ("Turn on sound and desktop alerts") is remembered in this
// browser. Browsers play sound only after a click or key on the page, so on a later visit the
// first click or key anywhere turns the alerts back on by itself (templates/_alerts.html).
"use strict";

(function () {
  var KEY = "infusion-desk.alerts-on";
  var root = document.getElementById("alerts");
  var button = root ? root.querySelector("[data-alerts-enable]") : null;
  if (!button) {
    return;
  }

  function remembered() {
    try {
      return window.localStorage.getItem(KEY) === "1";
    } catch (error) {
      return false;
    }
  }

  button.addEventListener("click", function () {
    try {
      window.localStorage.setItem(KEY, "1");
    } catch (error) {
      // storage blocked: on for this page only
    }
  });
  if (!remembered()) {
    return;
  }
  button.textContent = "Alerts on: sound resumes at your first click or key";
  button.dataset.alertsRemembered = "";

  function resume() {
    document.removeEventListener("pointerdown", resume, true);
    document.removeEventListener("keydown", resume, true);
    if (button.isConnected) {
      button.click();
    }
  }
  document.addEventListener("pointerdown", resume, true);
  document.addEventListener("keydown", resume, true);
})();
