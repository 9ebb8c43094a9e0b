// The enumerations declared once on the server (clinic/domain, served by clinic/web/choices.py)
// as templates/base.html writes them in #choices[data-choices]: a script asks
// choices.label("status", "checked_in") -> "Checked in", choices.css(...), choices.values(...).
"use strict";

window.choices = (function () {
  const node = document.getElementById("choices");
  const sets = node ? JSON.parse(node.dataset.choices) : {};

  function find(set, value) {
    return (sets[set] || []).find(function (choice) {
      return choice.value === value;
    });
  }

  return {
    label: function (set, value) {
      const choice = find(set, value);
      return choice ? choice.label : value;
    },
    css: function (set, value) {
      const choice = find(set, value);
      return choice ? choice.css : "";
    },
    values: function (set) {
      return (sets[set] || []).map(function (choice) {
        return choice.value;
      });
    },
  };
})();
