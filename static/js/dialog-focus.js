// deskui: when a nursing dialog closes, focus goes back to the button that opened it (or, if
// the live dashboard has redrawn that card meanwhile, to the same action for the same visit),
// so a keyboard user carries on where they were.
"use strict";

(function () {
  var opener = null;

  function selector(action, visitId) {
    var visit = '[data-visit-id="' + CSS.escape(visitId) + '"]';
    return [
      '[data-nursing-action="' + CSS.escape(action) + '"]' + visit,
      "[data-nursing-action]" + visit,
    ];
  }

  // Capture phase: remember the opener before nursing.js opens the dialog.
  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest ? event.target.closest("[data-nursing-action]") : null;
      if (button) {
        opener = {
          element: button,
          action: button.dataset.nursingAction || "",
          visitId: button.dataset.visitId || "",
        };
      }
    },
    true
  );

  document.addEventListener("hidden.bs.modal", function (event) {
    if (!opener || !event.target.matches("[data-nursing-dialog]")) {
      return;
    }
    var target = opener.element.isConnected ? opener.element : null;
    selector(opener.action, opener.visitId).forEach(function (query) {
      target = target || document.querySelector(query);
    });
    target = target || document.getElementById("main");
    opener = null;
    if (target) {
      target.focus();
    }
  });
})();
