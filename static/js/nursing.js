// Nursing dialogs (templates/nursing/_dialogs.html), shared by the recovery dashboard and the
// visit page: open a dialog for one visit, post its WTForms form with fetch (FormData and the
// CSRF token in X-CSRFToken), and show the server's field errors in place. On success a
// "nursing:changed" event tells the page to refresh. Only textContent is written.
"use strict";

(function () {
  const urls = document.querySelector("[data-nursing-urls]");
  if (!urls) {
    return;
  }
  const toastNode = document.querySelector("[data-nursing-toast]");
  const EVENT_TEXT = {
    start_infusion: {
      title: "Start infusion",
      submit: "Start infusion",
      explain: "The infusion starts now, or at the time you give.",
      url: "startInfusionUrl",
    },
    end_infusion: {
      title: "End infusion",
      submit: "End infusion",
      explain: "The observation window starts when the infusion ends.",
      url: "endInfusionUrl",
    },
  };
  const DIALOGS = {
    start_infusion: "dialog-event",
    end_infusion: "dialog-event",
    vitals: "dialog-vitals",
    extend: "dialog-extend",
    discharge: "dialog-discharge",
  };
  const URLS = {
    vitals: "vitalsUrl",
    extend: "extendUrl",
    discharge: "dischargeUrl",
  };
  const clock = { offsetMs: 0 };
  const hm = new Intl.DateTimeFormat("en-GB", {
    timeZone: urls.dataset.timezone || undefined,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });

  function urlFor(key, visitId) {
    return urls.dataset[key].replace("/0/", "/" + encodeURIComponent(visitId) + "/");
  }

  function parseInstant(text) {
    if (!text) {
      return null;
    }
    // Microseconds are more than Date.parse promises to read: keep milliseconds.
    return Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1"));
  }

  function clearErrors(form) {
    form.querySelectorAll(".is-invalid").forEach(function (el) {
      el.classList.remove("is-invalid");
    });
    form.querySelectorAll("[data-error-for]").forEach(function (el) {
      el.textContent = "";
      el.classList.remove("d-block");
    });
    const message = form.querySelector("[data-dialog-message]");
    message.textContent = "";
    message.classList.add("d-none");
  }

  function showErrors(form, body, status) {
    const errors = (body && body.errors) || {};
    let placed = 0;
    let first = null;
    Object.keys(errors).forEach(function (name) {
      const slot = form.querySelector('[data-error-for="' + CSS.escape(name) + '"]');
      if (!slot) {
        return;
      }
      slot.textContent = errors[name].join(" ");
      slot.classList.add("d-block");
      form.querySelectorAll('[name="' + CSS.escape(name) + '"]').forEach(function (input) {
        if (input.type !== "radio") {
          input.classList.add("is-invalid");
        }
        first = first || input;
      });
      placed += 1;
    });
    const message = form.querySelector("[data-dialog-message]");
    const loose = Object.keys(errors).length > placed;
    let text = (body && body.message) || "";
    if (!text) {
      text = status >= 500 ? "Something went wrong on our side; nothing was saved." : "Refused.";
    }
    if (loose || status !== 422 || !placed) {
      message.textContent = text;
      message.classList.remove("d-none");
    }
    if (first && typeof first.focus === "function") {
      first.focus();
    }
  }

  function toast(text) {
    if (!toastNode || !window.bootstrap) {
      return;
    }
    toastNode.querySelector("[data-toast-text]").textContent = text;
    window.bootstrap.Toast.getOrCreateInstance(toastNode, { delay: 3500 }).show();
  }

  function padssTotal(form) {
    let total = 0;
    let scored = 0;
    form.querySelectorAll('input[type="radio"][name^="padss_"]:checked').forEach(function (input) {
      total += parseInt(input.value, 10);
      scored += 1;
    });
    const out = form.querySelector("[data-padss-total]");
    if (!out) {
      return;
    }
    const items = new Set(
      Array.from(form.querySelectorAll('input[name^="padss_"]')).map(function (input) {
        return input.name;
      })
    ).size;
    out.textContent = scored ? total + " / 10" + (scored < items ? " so far" : "") : "– / 10";
    out.classList.toggle("is-pass", scored === items && total >= 9);
    out.classList.toggle("is-fail", scored === items && total < 9);
  }

  function fillDischarge(form, data) {
    form.querySelector('[name="escort_name"]').value = data.escort_name || "";
    form.querySelector('[name="escort_phone"]').value = data.escort_phone || "";
    form.querySelector('[name="vitals_stable"]').checked = Boolean(data.vitals_stable);
    const hint = form.querySelector("[data-stable-hint]");
    hint.textContent = !data.has_readings
      ? "No readings yet: take a set of vitals before discharge."
      : data.vitals_stable
        ? "Suggested from the latest reading: stable against the baseline."
        : "Suggested from the latest reading: not stable against the baseline.";
    if (data.padss_vital_signs !== null && data.padss_vital_signs !== undefined) {
      const radio = form.querySelector(
        'input[name="padss_vital_signs"][value="' + data.padss_vital_signs + '"]'
      );
      if (radio) {
        radio.checked = true;
      }
      const note = form.querySelector('[data-padss-hint="padss_vital_signs"]');
      note.textContent = "Scored " + data.padss_vital_signs + " from the latest reading against the baseline.";
      note.classList.remove("d-none");
    }
    const due = parseInstant(data.discharge_due_at);
    const serverNow = parseInstant(data.server_time);
    if (serverNow) {
      clock.offsetMs = serverNow - Date.now();
    }
    const early = due !== null && Date.now() + clock.offsetMs < due;
    const override = form.querySelector("[data-override]");
    const warning = form.querySelector("[data-discharge-early]");
    override.classList.toggle("d-none", !(early && data.can_override));
    warning.classList.toggle("d-none", !early);
    if (early) {
      const at = hm.format(new Date(due));
      warning.textContent = data.can_override
        ? "The observation window ends at " + at + ". Discharging earlier is a practitioner's override: give the reason."
        : "The observation window ends at " + at + ". Only a practitioner may discharge before then.";
    }
    padssTotal(form);
  }

  function open(action, visitId, label) {
    const modal = document.getElementById(DIALOGS[action]);
    if (!modal || !window.bootstrap) {
      return;
    }
    const form = modal.querySelector("form");
    form.reset();
    clearErrors(form);
    form.dataset.visitId = visitId;
    form.dataset.action = action;
    modal.querySelector("[data-dialog-patient]").textContent = label || "";
    const submit = modal.querySelector("[data-dialog-submit]");
    if (EVENT_TEXT[action]) {
      const text = EVENT_TEXT[action];
      form.action = urlFor(text.url, visitId);
      modal.querySelector("[data-dialog-title]").textContent = text.title;
      modal.querySelector("[data-event-explain]").textContent = text.explain;
      submit.textContent = text.submit;
      submit.classList.toggle("btn-primary", action === "start_infusion");
      submit.classList.toggle("btn-teal", action === "end_infusion");
    } else {
      form.action = urlFor(URLS[action], visitId);
    }
    if (action === "extend") {
      modal.querySelector("[data-extend-explain]").textContent =
        "The discharge due time moves by the minutes you add.";
    }
    if (action === "discharge") {
      form.querySelectorAll("[data-padss-hint]").forEach(function (el) {
        el.classList.add("d-none");
      });
      form.querySelector("[data-override]").classList.add("d-none");
      form.querySelector("[data-discharge-early]").classList.add("d-none");
      submit.disabled = true;
      fetch(urlFor("dischargePrefillUrl", visitId), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { response: response, body: body };
          });
        })
        .then(function (result) {
          if (!result.response.ok) {
            showErrors(form, result.body, result.response.status);
            return;
          }
          fillDischarge(form, result.body);
          submit.disabled = false;
        })
        .catch(function () {
          showErrors(form, { message: "Could not load the checklist: check the connection." }, 0);
        });
      padssTotal(form);
    }
    window.bootstrap.Modal.getOrCreateInstance(modal).show();
  }

  function submitForm(event) {
    const form = event.target.closest("[data-nursing-form]");
    if (!form) {
      return;
    }
    event.preventDefault();
    const submit = form.querySelector("[data-dialog-submit]");
    const token = form.querySelector('[name="csrf_token"]').value;
    clearErrors(form);
    submit.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (response.ok && body.ok) {
              const modal = form.closest(".modal");
              window.bootstrap.Modal.getOrCreateInstance(modal).hide();
              toast(body.message || "Saved.");
              if ("reloadOnChange" in urls.dataset) {
                // The visit page is drawn on the server: show it again with the change.
                window.setTimeout(function () {
                  window.location.reload();
                }, 500);
              }
              document.dispatchEvent(
                new CustomEvent("nursing:changed", {
                  detail: { visitId: form.dataset.visitId, action: form.dataset.action, message: body.message },
                })
              );
            } else {
              showErrors(form, body, response.status);
            }
          });
      })
      .catch(function () {
        showErrors(form, { message: "No connection: nothing was saved. Try again." }, 0);
      })
      .finally(function () {
        submit.disabled = false;
      });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-nursing-action]");
    if (button) {
      event.preventDefault();
      open(button.dataset.nursingAction, button.dataset.visitId, button.dataset.visitLabel);
      return;
    }
    const quick = event.target.closest(".quick-minutes");
    if (quick) {
      const input = quick.closest("form").querySelector('[name="minutes"]');
      input.value = quick.dataset.minutes;
      input.focus();
    }
  });
  document.addEventListener("submit", submitForm);
  document.addEventListener("change", function (event) {
    const form = event.target.closest(".discharge-form");
    if (form) {
      padssTotal(form);
    }
  });
  document.querySelectorAll("[data-nursing-dialog]").forEach(function (modal) {
    modal.addEventListener("shown.bs.modal", function () {
      const first = modal.querySelector(
        ".modal-body input:not([type=hidden]):not([type=radio]), .modal-body textarea"
      );
      if (first && modal.id !== "dialog-discharge") {
        first.focus();
      }
    });
  });

  window.nursingDialogs = { open: open };
})();
