/* Checks from the field (/m/checks): the phone's position for a location check, a clear
   message (and nothing lost) when there is no connection, and the answer brought into view.
   The forms work without this script; htmx swaps the check area in place. */
(function () {
  "use strict";

  function area() {
    return document.getElementById("check-area");
  }

  function offlineMessage(form, show) {
    var message = form && form.querySelector("[data-offline-message]");
    if (message) message.hidden = !show;
  }

  function setUpPosition(root) {
    var box = root.querySelector("[data-position]");
    if (!box || !("geolocation" in navigator)) return;
    var button = box.querySelector("[data-use-position]");
    var status = box.querySelector("[data-position-status]");
    var lat = box.querySelector("[data-lat]");
    var lon = box.querySelector("[data-lon]");
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "Finding your position…";
      navigator.geolocation.getCurrentPosition(
        function (found) {
          lat.value = found.coords.latitude.toFixed(6);
          lon.value = found.coords.longitude.toFixed(6);
          var address = root.querySelector("#address");
          var accuracy = Math.round(found.coords.accuracy || 0);
          var said = "Position found (to within " + accuracy + " m).";
          if (address && address.value.trim()) {
            said += " The address you typed is checked instead: clear it to check here.";
          } else {
            said += " Choose why, then check.";
          }
          status.textContent = said;
        },
        function (problem) {
          lat.value = "";
          lon.value = "";
          status.textContent = "Could not find your position (" + problem.message + "). Type the address instead.";
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
      );
    });
  }

  function settle() {
    var root = area();
    if (!root) return;
    setUpPosition(root);
  }

  document.addEventListener("DOMContentLoaded", settle);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (!form || !area() || !area().contains(form)) return;
    if (navigator.onLine === false) {
      event.preventDefault();
      offlineMessage(form.closest("[data-check-form]") || form, true);
      var slot = form.parentElement && form.parentElement.querySelector(".mc-card-slot");
      if (slot && !form.hasAttribute("data-check-form")) {
        slot.textContent = "No connection: the card needs the network. Try again when you are back online.";
      }
      return;
    }
    offlineMessage(form, false);
    var button = form.querySelector("button[type=submit]");
    if (button) button.setAttribute("aria-busy", "true");
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form");
    var button = form && form.querySelector("button[type=submit]");
    if (button) button.removeAttribute("aria-busy");
  });

  document.addEventListener("htmx:sendError", function (event) {
    var form = event.target.closest && event.target.closest("form");
    offlineMessage(form && (form.closest("[data-check-form]") || form), true);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target.classList && event.target.classList.contains("mc-card-slot")) {
      var opener = event.target.previousElementSibling;
      if (opener && opener.classList.contains("mc-open") && event.target.querySelector("[data-testid=person-card]")) {
        opener.hidden = true;  // the card is open: reading it again would only be audited again
      }
      event.target.scrollIntoView({ block: "start" });
      return;
    }
    if (event.target.id !== "check-area") return;
    settle();
    var problem = event.target.querySelector("[data-testid=problem]");
    var results = event.target.querySelector("[data-testid=results]");
    var target = problem || results;
    if (target) {
      target.setAttribute("tabindex", "-1");
      target.scrollIntoView({ block: "start" });
      target.focus({ preventScroll: true });
    }
  });
})();
