// Open emergencies on top of the page, from the live feed, until a dispatcher
// acknowledges them (POST /api/v1/emergencies/{id}/acknowledge, with the CSRF token).
(function () {
  "use strict";
  var root = document.getElementById("emergencies");
  if (!root || !window.BluelampLive || root.dataset.bound) return;
  root.dataset.bound = "true";
  var list = root.querySelector(".emergency-list");
  var canAcknowledge = root.dataset.canAcknowledge === "true";
  var open = new Map(); // emergency id -> data (as EmergencyRaised carries it)
  var problems = new Map(); // emergency id -> why acknowledging failed

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function text(tag, className, value) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    element.textContent = value;
    return element;
  }

  function position(data) {
    if (data.lat === null || data.lat === undefined) return "position unknown";
    return data.lat.toFixed(5) + ", " + data.lon.toFixed(5);
  }

  function item(data) {
    var li = document.createElement("li");
    li.className = "emergency";
    li.setAttribute("role", "alert");
    li.dataset.emergencyId = data.emergency_id;
    li.setAttribute("data-testid", "emergency");
    li.appendChild(text("strong", "emergency-flag", "EMERGENCY"));
    var who = data.call_sign || (data.unit_id ? "Unit " + data.unit_id : "Officer's device");
    li.appendChild(text("span", "emergency-who", who));
    var when = text("span", "emergency-when", "raised " + BluelampLive.clock(data.raised_at) + " (" + BluelampLive.age(data.raised_at) + " ago)");
    when.dataset.raisedAt = data.raised_at;
    li.appendChild(when);
    li.appendChild(text("span", "emergency-where", position(data)));
    if (data.unit_id) {
      var show = text("a", "emergency-show", "Show on map");
      show.href = "/resources?unit=" + encodeURIComponent(data.unit_id);
      show.addEventListener("click", function (event) {
        var handled = !document.dispatchEvent(
          new CustomEvent("bluelamp:focus-unit", { detail: data.unit_id, cancelable: true })
        );
        if (handled) event.preventDefault(); // the map on this page showed it
      });
      li.appendChild(show);
    }
    if (canAcknowledge) {
      var button = text("button", "button acknowledge", "Acknowledge");
      button.type = "button";
      button.setAttribute("aria-label", "Acknowledge the emergency of " + who);
      button.addEventListener("click", function () { acknowledge(data.emergency_id, button); });
      li.appendChild(button);
    }
    if (problems.has(data.emergency_id)) li.appendChild(text("span", "emergency-problem", problems.get(data.emergency_id)));
    return li;
  }

  function render() {
    var items = Array.from(open.values()).sort(function (a, b) { return a.raised_at < b.raised_at ? -1 : 1; });
    list.replaceChildren.apply(list, items.map(item));
    root.hidden = items.length === 0;
    document.body.classList.toggle("has-emergency", items.length > 0);
  }

  function acknowledge(id, button) {
    button.disabled = true;
    problems.delete(id);
    fetch("/api/v1/emergencies/" + encodeURIComponent(id) + "/acknowledge", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
      body: "{}",
    }).then(
      function (response) {
        if (response.ok || response.status === 404 || response.status === 409) {
          open.delete(id); // done, or someone else was quicker
        } else {
          problems.set(id, "Not acknowledged (" + response.status + "): reload the page and try again.");
        }
        render();
      },
      function () {
        problems.set(id, "Not acknowledged: the server cannot be reached. Try again.");
        render();
      }
    );
  }

  BluelampLive.subscribe(function (message) {
    if (message.type === "snapshot") {
      open.clear();
      message.emergencies.forEach(function (data) { open.set(data.emergency_id, data); });
      render();
      return;
    }
    var changed = false;
    message.events.forEach(function (event) {
      if (event.name === "EmergencyRaised") {
        open.set(event.data.emergency_id, event.data);
        changed = true;
      } else if (event.name === "EmergencyAcknowledged" && open.has(event.data.emergency_id)) {
        open.delete(event.data.emergency_id);
        changed = true;
      }
    });
    if (changed) render();
  });

  // Keep "(n min ago)" true.
  setInterval(function () {
    list.querySelectorAll(".emergency-when").forEach(function (element) {
      var raisedAt = element.dataset.raisedAt;
      element.textContent = "raised " + BluelampLive.clock(raisedAt) + " (" + BluelampLive.age(raisedAt) + " ago)";
    });
  }, 15000);
})();
