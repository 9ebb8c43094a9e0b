// deskui: names on the day board. Shown by default; a screen that faces the waiting room
// hides them (initials only), and this browser remembers the choice. Loaded in <head>, so a
// screen set to hide names never shows one while the page draws.
"use strict";

(function () {
  var KEY = "infusion-desk.hide-names";
  var root = document.documentElement;

  function stored() {
    try {
      return window.localStorage.getItem(KEY) === "1";
    } catch (error) {
      return false; // storage blocked: the default, names shown
    }
  }

  function apply(hidden) {
    root.classList.toggle("names-hidden", hidden);
    document.querySelectorAll("[data-names-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", hidden ? "true" : "false");
      button.classList.toggle("active", hidden);
    });
  }

  apply(stored());
  document.addEventListener("DOMContentLoaded", function () {
    apply(stored());
    document.querySelectorAll("[data-names-toggle]").forEach(function (button) {
      button.addEventListener("click", function () {
        var hidden = !root.classList.contains("names-hidden");
        try {
          window.localStorage.setItem(KEY, hidden ? "1" : "0");
        } catch (error) {
          // not remembered, but still applied to this page
        }
        apply(hidden);
      });
    });
  });
})();
