// Crime and intelligence forms, improved when script runs (they work without it):
// filter the offence picker by typing; show only the reference field the chosen source needs;
// show the handling conditions only for handling code C. No inline script: the CSP forbids it.
(function () {
  "use strict";

  function filterOffences(input) {
    var select = document.getElementById(input.getAttribute("data-filter-for"));
    if (!select) return;
    input.hidden = false;
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        var shown = 0;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          var text = (option.textContent + " " + group.label).toLowerCase();
          var match = words.every(function (word) { return text.indexOf(word) !== -1; });
          option.hidden = !match;
          if (match) shown += 1;
        });
        group.hidden = shown === 0;
      });
    });
  }

  function followChoice(name, update) {
    var radios = document.querySelectorAll('input[name="' + name + '"]');
    if (!radios.length) return;
    function current() {
      var checked = document.querySelector('input[name="' + name + '"]:checked');
      update(checked ? checked.value : "");
    }
    Array.prototype.forEach.call(radios, function (radio) { radio.addEventListener("change", current); });
    current();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".offence-filter"), filterOffences);
    followChoice("source", function (source) {
      Array.prototype.forEach.call(document.querySelectorAll(".source-part"), function (part) {
        // A part with a message stays in view whatever is chosen: nothing typed is hidden.
        part.hidden = part.getAttribute("data-source") !== source && !part.querySelector(".field-error");
      });
    });
    followChoice("handling_code", function (code) {
      var part = document.querySelector(".handling-conditions");
      if (part) part.hidden = code !== "C" && !part.querySelector(".field-error") && !part.querySelector("textarea").value;
    });
  });
})();
