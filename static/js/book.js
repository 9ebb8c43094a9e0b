// Booking form: patient search as you type (POST, so no patient data ever sits in a URL),
// site defaults, and the "next free slots" panel that fills the form.
"use strict";

(function () {
  var form = document.getElementById("book-form");
  if (!form) {
    return;
  }
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var field = function (name) { return form.elements.namedItem(name); };
  var search = document.getElementById("patient-search");
  var results = document.getElementById("patient-results");
  var chosen = document.getElementById("patient-chosen");
  var searchBox = document.getElementById("patient-search-box");
  var slotList = document.getElementById("slot-list");
  var searchTimer = null;
  var slotTimer = null;
  var lastQuery = "";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function initials(name) {
    var parts = name.trim().split(/\s+/);
    return ((parts[0] || "").charAt(0) + (parts[parts.length - 1] || "").charAt(0)).toUpperCase();
  }

  // ------------------------------------------------------------ patient search

  function choosePatient(patient) {
    field("patient_id").value = String(patient.id);
    document.getElementById("patient-avatar").textContent = initials(patient.name);
    document.getElementById("patient-name").textContent = patient.name;
    var meta = "MRN " + patient.mrn + " · born " + patient.born;
    meta += patient.cleared_until ? " · cleared until " + patient.cleared_to : " · not cleared";
    document.getElementById("patient-meta").textContent = meta;
    chosen.classList.remove("d-none");
    searchBox.classList.add("d-none");
    results.classList.add("d-none");
    search.classList.remove("is-invalid");
    updateSlotLinks();
  }

  function showResults(patients) {
    results.replaceChildren();
    if (!patients.length) {
      results.appendChild(el("div", "list-group-item small text-secondary", "No patient matches."));
    }
    patients.forEach(function (patient) {
      var item = el("button", "list-group-item list-group-item-action patient-result");
      item.type = "button";
      item.setAttribute("role", "option");
      var top = el("div", "d-flex justify-content-between gap-2");
      top.appendChild(el("span", "fw-semibold", patient.name));
      var badge = patient.cleared_until
        ? el("span", "badge cleared-badge", "cleared to " + patient.cleared_to)
        : el("span", "badge not-cleared-badge", "not cleared");
      top.appendChild(badge);
      item.appendChild(top);
      item.appendChild(el("div", "small text-secondary", "MRN " + patient.mrn + " · born " + patient.born));
      item.addEventListener("click", function () { choosePatient(patient); });
      results.appendChild(item);
    });
    results.classList.remove("d-none");
  }

  function runSearch() {
    var query = search.value.trim();
    if (query.length < 2) {
      results.classList.add("d-none");
      lastQuery = "";
      return;
    }
    if (query === lastQuery) { return; }
    lastQuery = query;
    fetch(form.dataset.searchUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ q: query })
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("search failed"); }
        return response.json();
      })
      .then(function (body) {
        if (search.value.trim() === query) { showResults(body.patients || []); }
      })
      .catch(function () {
        results.replaceChildren(el("div", "list-group-item small text-danger", "Search is not available right now."));
        results.classList.remove("d-none");
      });
  }

  if (search) {
    search.addEventListener("input", function () {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(runSearch, 200);
    });
    search.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(results.querySelectorAll(".patient-result"));
      if (event.key === "ArrowDown" && items.length) {
        event.preventDefault();
        items[0].focus();
      } else if (event.key === "Enter") {
        event.preventDefault();  // Enter in the search box must not submit the booking
        if (items.length === 1) { items[0].click(); }
      } else if (event.key === "Escape") {
        results.classList.add("d-none");
      }
    });
    results.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(results.querySelectorAll(".patient-result"));
      var index = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < items.length - 1) {
        event.preventDefault();
        items[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (index > 0 ? items[index - 1] : search).focus();
      } else if (event.key === "Escape") {
        results.classList.add("d-none");
        search.focus();
      }
    });
  }

  document.getElementById("patient-change").addEventListener("click", function () {
    field("patient_id").value = "";
    chosen.classList.add("d-none");
    searchBox.classList.remove("d-none");
    lastQuery = "";
    search.value = "";
    search.focus();
    updateSlotLinks();
  });

  // ------------------------------------------------------------ site defaults and chairs

  var siteField = field("site_id");

  function siteOption() {
    return siteField && siteField.tagName === "SELECT" ? siteField.selectedOptions[0] : null;
  }

  function filterChairs() {
    var siteId = siteField ? siteField.value : "";
    var chair = field("chair_id");
    Array.prototype.forEach.call(chair.options, function (option) {
      var own = !option.dataset.siteId || option.dataset.siteId === siteId;
      option.hidden = !own;
      option.disabled = !own;
      if (!own && option.selected) { chair.value = "0"; }
    });
  }

  // The treatment picker (shown when a site offers several types): each option carries its
  // type's minutes, and only the chosen site's types can be picked.
  var typeField = field("treatment_type_id");
  var typeSelect = typeField && typeField.tagName === "SELECT" ? typeField : null;

  function useMinutes(option) {
    if (option) {
      field("infusion_minutes").value = option.dataset.infusionDefault;
      field("observation_minutes").value = option.dataset.observationDefault;
    }
  }

  function filterTypes() {
    if (!typeSelect) { return; }
    var siteId = siteField ? siteField.value : "";
    var first = null;
    Array.prototype.forEach.call(typeSelect.options, function (option) {
      var own = !siteId || option.dataset.siteId === siteId;
      option.hidden = !own;
      option.disabled = !own;
      if (own && !first) { first = option; }
    });
    var chosen = typeSelect.selectedOptions[0];
    if ((!chosen || chosen.disabled) && first) {
      typeSelect.value = first.value;  // the site's default type comes first
      return true;
    }
    return false;
  }

  if (typeSelect) {
    typeSelect.addEventListener("change", function () {
      useMinutes(typeSelect.selectedOptions[0]);
      refreshSlots();
    });
  }

  if (siteField && siteField.tagName === "SELECT") {
    siteField.addEventListener("change", function () {
      filterTypes();
      useMinutes(typeSelect ? typeSelect.selectedOptions[0] : siteOption());
      filterChairs();
      refreshSlots();
    });
  }
  filterChairs();
  filterTypes();

  // ------------------------------------------------------------ next free slots

  function slotHref(slot) {
    var params = new URLSearchParams({
      site_id: siteField ? siteField.value : "",
      date: slot.date,
      time: slot.time,
      chair_id: String(slot.chair_id)
    });
    var patientId = field("patient_id").value;
    if (patientId) { params.set("patient_id", patientId); }
    if (typeSelect) { params.set("treatment_type_id", typeSelect.value); }
    return form.dataset.bookUrl + "?" + params.toString();
  }

  function updateSlotLinks() {
    slotList.querySelectorAll(".slot-btn").forEach(function (link) {
      link.href = slotHref({ date: link.dataset.date, time: link.dataset.time, chair_id: link.dataset.chairId });
    });
  }

  function renderSlots(groups) {
    slotList.replaceChildren();
    if (!groups.length) {
      slotList.appendChild(el("p", "small text-secondary mb-0", "No free slot in the next two weeks for these lengths."));
      return;
    }
    groups.forEach(function (group) {
      var box = el("div", "slot-group");
      var when = el("div", "slot-when");
      when.appendChild(el("span", "slot-day", group.day_label + " "));
      when.appendChild(el("strong", "", group.time));
      when.appendChild(el("span", "slot-until", " until " + group.until));
      box.appendChild(when);
      var chairs = el("div", "slot-chairs");
      group.chairs.forEach(function (chair) {
        var link = el("a", "slot-btn", chair.name);
        link.dataset.date = group.date;
        link.dataset.time = group.time;
        link.dataset.chairId = String(chair.id);
        link.title = "Fill the form: " + chair.name + ", " + group.day_label + " " + group.time;
        link.href = slotHref({ date: group.date, time: group.time, chair_id: chair.id });
        chairs.appendChild(link);
      });
      box.appendChild(chairs);
      slotList.appendChild(box);
    });
  }

  function refreshSlots() {
    window.clearTimeout(slotTimer);
    slotTimer = window.setTimeout(function () {
      var params = new URLSearchParams({
        site_id: siteField ? siteField.value : "",
        date: field("date").value,
        infusion_minutes: field("infusion_minutes").value,
        observation_minutes: field("observation_minutes").value
      });
      if (typeSelect) { params.set("treatment_type_id", typeSelect.value); }
      fetch(form.dataset.slotsUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { slots: [] }; })
        .then(function (body) {
          renderSlots(body.slots || []);
          var caption = document.getElementById("slots-caption");
          if (caption && field("date").value) {
            caption.textContent = "From " + field("date").value + ", for the lengths above. Pick one to fill the form.";
          }
        })
        .catch(function () { /* keep the panel as it was */ });
    }, 250);
  }

  ["date", "infusion_minutes", "observation_minutes"].forEach(function (name) {
    field(name).addEventListener("change", refreshSlots);
  });

  slotList.addEventListener("click", function (event) {
    var link = event.target.closest(".slot-btn");
    if (!link) { return; }
    event.preventDefault();
    field("date").value = link.dataset.date;
    field("time").value = link.dataset.time;
    field("chair_id").value = link.dataset.chairId;
    slotList.querySelectorAll(".slot-btn.is-chosen").forEach(function (other) {
      other.classList.remove("is-chosen");
    });
    link.classList.add("is-chosen");
    field("time").classList.add("just-filled");
    window.setTimeout(function () { field("time").classList.remove("just-filled"); }, 900);
  });
})();
