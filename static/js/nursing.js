// Nursing dialogs (templates/nursing/_dialogs.html), shared by the recovery board and the visit
// page. The server renders every form (templates/nursing/dialog.html): a data-nursing-action
// button loads one into its dialog's frame with htmx, and this script opens the dialog; the
// form posts itself with htmx and its refusals (400-422) are swapped in place. A saved form
// answers an "nursing:saved" trigger: close, say so, and refresh the board (or the visit page).
"use strict";

(function () {
  const frames = document.querySelector("[data-nursing-dialogs]");
  if (!frames || !window.bootstrap) {
    return;
  }
  const toastNode = frames.querySelector("[data-nursing-toast]");

  function dialogOf(node) {
    return node && node.closest ? node.closest("[data-nursing-dialog]") : null;
  }

  function padssTotal(form) {
    const out = form.querySelector("[data-padss-total]");
    if (!out) {
      return;
    }
    let total = 0;
    let scored = 0;
    form.querySelectorAll('input[name^="padss_"]:checked').forEach(function (input) {
      total += parseInt(input.value, 10);
      scored += 1;
    });
    const items = form.querySelectorAll(".padss-item").length;
    out.textContent = scored ? total + " / 10" + (scored < items ? " so far" : "") : "– / 10";
    out.classList.toggle("is-pass", scored === items && total >= 9);
    out.classList.toggle("is-fail", scored === items && total < 9);
  }

  function firstField(modal) {
    return modal.querySelector(
      ".modal-body input:not([type=hidden]):not([type=radio]), .modal-body textarea"
    );
  }

  // The first field whose message shows (a score's checked button, or its first), else the
  // form's own message for a refusal that names no field.
  function firstError(form) {
    for (const error of form.querySelectorAll("[data-error-for].d-block")) {
      const group = form.querySelectorAll('[name="' + CSS.escape(error.dataset.errorFor) + '"]');
      const fields = Array.from(group).filter(function (field) {
        return field.type !== "hidden";
      });
      const field = fields.find(function (each) {
        return each.checked;
      }) || fields[0];
      if (field) {
        return field;
      }
    }
    const message = form.querySelector("[data-dialog-message]:not(.d-none)");
    if (message) {
      message.tabIndex = -1;
    }
    return message;
  }

  // A dialog's refusals are forms to show again, not errors.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (dialogOf(event.detail.target) && status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const modal = dialogOf(event.target);
    if (!modal) {
      return;
    }
    const form = modal.querySelector("[data-nursing-form]");
    padssTotal(form);
    if (modal.classList.contains("show")) {
      // The refused form replaced the one that held the focus: keep the keyboard in the dialog
      // (Bootstrap's Escape listens on it) on the first field in error.
      (firstError(form) || firstField(modal) || modal).focus();
    } else {
      window.bootstrap.Modal.getOrCreateInstance(modal).show();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt.closest && event.detail.elt.closest("[data-nursing-form]");
    const status = event.detail.xhr.status;
    if (form && (status === 0 || status >= 500)) {
      const message = form.querySelector("[data-dialog-message]");
      message.textContent = status ? "Something went wrong on our side; nothing was saved." : "No connection: nothing was saved. Try again.";
      message.classList.remove("d-none");
    }
  });

  document.addEventListener("nursing:saved", function (event) {
    const modal = dialogOf(event.target);
    window.bootstrap.Modal.getOrCreateInstance(modal).hide();
    toastNode.querySelector("[data-toast-text]").textContent = event.detail.value;
    window.bootstrap.Toast.getOrCreateInstance(toastNode, { delay: 3500 }).show();
    if ("reloadOnChange" in frames.dataset) {
      // The visit page is drawn on the server: show it again with the change.
      window.setTimeout(function () {
        window.location.reload();
      }, 500);
    }
    document.dispatchEvent(new CustomEvent("nursing:changed"));
  });

  document.addEventListener("click", function (event) {
    const quick = event.target.closest(".quick-minutes");
    if (quick) {
      const input = quick.closest("form").querySelector('[name="minutes"]');
      input.value = quick.dataset.minutes;
      input.focus();
    }
  });
  document.addEventListener("change", function (event) {
    // The screening dialog shows the chosen instrument's questions only.
    if (event.target.matches("[data-screening-choose]")) {
      event.target.closest("form").querySelectorAll(".screening-instrument").forEach(function (set) {
        set.hidden = set.dataset.instrument !== event.target.value;
      });
    }
    const form = event.target.closest(".discharge-form");
    if (form) {
      padssTotal(form);
    }
  });
  frames.querySelectorAll("[data-nursing-dialog]").forEach(function (modal) {
    modal.addEventListener("shown.bs.modal", function () {
      const first = firstField(modal);
      if (first && modal.id !== "dialog-discharge") {
        first.focus();
      }
    });
  });
})();
