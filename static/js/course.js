// Induction course: picking a treatment fills the lengths with that treatment's defaults.
"use strict";

(function () {
  var picker = document.getElementById("treatment_type_id");
  if (!picker || picker.tagName !== "SELECT") {
    return;
  }
  picker.addEventListener("change", function () {
    var option = picker.selectedOptions[0];
    if (!option) { return; }
    document.getElementById("infusion_minutes").value = option.dataset.infusionDefault;
    document.getElementById("observation_minutes").value = option.dataset.observationDefault;
  });
})();
