// The control room: the live incident queue (most urgent first, each target counting
// down every second), a map of incidents and units, the open incident's panel and the
// tasks, all kept current from the live feed (/ws/live) without reloading; and keyboard
// shortcuts for what dispatchers do all shift.
//
// The queue and the map are drawn here from the feed: a snapshot on (re)connecting,
// then IncidentChanged and unit events. The incident panel and the tasks are rendered by
// the server (GET /control/incidents/{id}, /control/tasks) and fetched again when the
// feed says they changed, keeping whatever the dispatcher was typing.
(function () {
  "use strict";
  var root = document.getElementById("control");
  if (!root || !window.L || !window.BluelampLive) return;

  var labels = JSON.parse(root.dataset.labels);
  var active = new Set(labels.active);
  var staleSeconds = Number(root.dataset.staleSeconds);
  var offlineSeconds = Number(root.dataset.offlineSeconds);
  var tileUrl = root.dataset.tileUrl;
  var queueBody = root.querySelector(".queue-table tbody");
  var queueEmpty = root.querySelector("[data-testid=queue-empty]");
  var queueCount = root.querySelector("[data-testid=queue-count]");
  var panel = document.getElementById("incident-panel");
  var tasks = document.getElementById("tasks");
  var shortcuts = document.getElementById("shortcuts");

  var incidents = new Map(); // incident id -> {data, row, marker}
  var units = new Map(); // unit id -> {data, marker, element}
  var order = []; // incident ids as the queue shows them
  var cursorId = null; // the row j/k move over
  var openId = root.dataset.open || null; // the incident in the panel
  var framed = false;
  var snapshots = 0;

  // ------------------------------------------------------------------ the map

  var map = L.map("control-map", { attributionControl: Boolean(tileUrl), zoomSnap: 0.5 }).setView(
    JSON.parse(root.dataset.centre || "[52.8, -2.05]"),
    10
  );
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
  else root.classList.add("no-tiles");
  L.control.scale({ imperial: false }).addTo(map);
  var unitLayer = L.layerGroup().addTo(map);
  var incidentLayer = L.layerGroup().addTo(map);

  function hasPosition(data) {
    return data.lat !== null && data.lat !== undefined && data.lon !== null && data.lon !== undefined;
  }

  // Once, when the first snapshot is in: show every incident and unit.
  function frameMap() {
    if (framed) return;
    framed = true;
    var points = [];
    incidents.forEach(function (entry) { if (hasPosition(entry.data)) points.push([entry.data.lat, entry.data.lon]); });
    units.forEach(function (unit) { if (hasPosition(unit.data)) points.push([unit.data.lat, unit.data.lon]); });
    if (points.length === 1) map.setView(points[0], 13, { animate: false });
    else if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 14, animate: false });
    root.dataset.framed = "true";
  }

  // ------------------------------------------------------------------ units (as on the resources map)

  function statusOf(status) {
    return labels.status[status] || { label: status, letter: "?", shape: "circle" };
  }

  function freshnessOf(data) {
    return BluelampLive.freshness(data.fix_at, staleSeconds, offlineSeconds);
  }

  function styleUnit(element, data) {
    var display = statusOf(data.status);
    element.className = "unit-marker status-" + data.status + " shape-" + display.shape + " fresh-" + freshnessOf(data);
    element.querySelector(".glyph").textContent = display.letter;
    element.dataset.status = data.status;
    element.dataset.incidentId = data.incident_id || "";
  }

  function unitTitle(data) {
    return data.call_sign + ": " + statusOf(data.status).label + ", " + labels.freshness[freshnessOf(data)];
  }

  function upsertUnit(data) {
    var unit = units.get(data.id);
    if (!unit) {
      unit = { data: data, marker: null, element: null };
      units.set(data.id, unit);
    } else {
      unit.data = data;
    }
    if (!hasPosition(data)) return unit;
    if (!unit.marker) {
      var element = document.createElement("div");
      element.dataset.unitId = data.id;
      element.dataset.callSign = data.call_sign;
      element.setAttribute("data-testid", "unit-marker");
      var glyph = document.createElement("span");
      glyph.className = "glyph";
      var label = document.createElement("span");
      label.className = "label";
      label.textContent = data.call_sign;
      element.append(glyph, label);
      unit.element = element;
      unit.marker = L.marker([data.lat, data.lon], {
        icon: L.divIcon({ className: "unit-icon", html: element, iconSize: [26, 26], iconAnchor: [13, 13] }),
        title: unitTitle(data),
        alt: data.call_sign,
        keyboard: false,
      }).addTo(unitLayer);
    } else {
      unit.marker.setLatLng([data.lat, data.lon]);
      var icon = unit.marker.getElement();
      if (icon) icon.title = unitTitle(data);
    }
    styleUnit(unit.element, data);
    return unit;
  }

  function applyUnitEvent(event) {
    var data = event.data;
    var unit = units.get(data.unit_id);
    if (!unit) return;
    var next = Object.assign({}, unit.data);
    if (event.name === "UnitMoved") {
      next.lat = data.lat;
      next.lon = data.lon;
      next.fix_at = data.at;
      if (data.status) next.status = data.status;
    } else if (event.name === "UnitStatusChanged") {
      next.status = data.to;
      next.incident_id = data.incident_id;
      var shown = panel.querySelector('[data-unit-id="' + CSS.escape(data.unit_id) + '"]');
      if ((openId && (data.incident_id === openId || unit.data.incident_id === openId)) || shown) refreshPanel();
    } else if (event.name === "EmergencyRaised") {
      next.status = "emergency";
    } else {
      return;
    }
    upsertUnit(next);
  }

  // ------------------------------------------------------------------ incidents: the queue and their markers

  function categoryName(code) {
    var category = labels.categories[code];
    return category ? category.name : code;
  }

  // Most urgent first: grade, then the nearest target, then the oldest.
  function urgency(a, b) {
    if (a.grade !== b.grade) return a.grade < b.grade ? -1 : 1;
    var ta = a.target_at ? Date.parse(a.target_at) : Infinity;
    var tb = b.target_at ? Date.parse(b.target_at) : Infinity;
    if (ta !== tb) return ta - tb;
    return Date.parse(a.created_at) - Date.parse(b.created_at);
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function duration(ms) {
    var seconds = Math.floor(Math.abs(ms) / 1000);
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    if (hours >= 24) return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
    if (hours) return hours + ":" + pad(minutes) + ":" + pad(seconds % 60);
    return minutes + ":" + pad(seconds % 60);
  }

  // Green with over half the time left, amber, red under a tenth, then breached.
  function countdown(data, now) {
    if (!data.target_at) return { state: "none", text: "No target" };
    var target = Date.parse(data.target_at);
    if (data.first_arrived_at) {
      // The clock stopped when the first unit arrived: in time, or late.
      var late = Date.parse(data.first_arrived_at) - target;
      return late > 0
        ? { state: "breached", text: "Attended late +" + duration(-late) }
        : { state: "none", text: "Attended" };
    }
    if (data.status === "at_scene") return { state: "none", text: "Attended" };
    var left = target - now;
    if (left <= 0) return { state: "breached", text: "Breached +" + duration(left) };
    var fraction = left / Math.max(1, target - Date.parse(data.created_at));
    return { state: fraction > 0.5 ? "ok" : fraction >= 0.1 ? "warn" : "danger", text: duration(left) };
  }

  function cell(className, text) {
    var td = document.createElement("td");
    td.className = className;
    if (text !== undefined) td.textContent = text;
    return td;
  }

  function makeRow(id) {
    var tr = document.createElement("tr");
    tr.dataset.incidentId = id;
    tr.setAttribute("data-testid", "queue-row");
    var badge = document.createElement("span");
    badge.className = "grade-badge";
    var grade = cell("grade");
    grade.appendChild(badge);
    var what = cell("incident");
    var reference = document.createElement("span");
    reference.className = "reference";
    var category = document.createElement("span");
    category.className = "category";
    what.append(reference, category);
    var target = cell("target");
    var clock = document.createElement("span");
    clock.className = "countdown";
    clock.setAttribute("data-testid", "countdown");
    target.appendChild(clock);
    tr.append(grade, what, cell("incident-status"), cell("age"), target);
    tr.addEventListener("click", function () { openIncident(id); });
    return tr;
  }

  function fillRow(entry) {
    var data = entry.data;
    var row = entry.row;
    row.dataset.reference = data.reference;
    row.dataset.status = data.status;
    row.dataset.grade = data.grade;
    var badge = row.querySelector(".grade-badge");
    badge.className = "grade-badge grade-" + data.grade;
    badge.textContent = data.grade;
    badge.title = labels.grades[data.grade] || "Grade " + data.grade;
    row.querySelector(".reference").textContent = data.reference;
    row.querySelector(".category").textContent = categoryName(data.category);
    row.querySelector(".incident-status").textContent = labels.incident_status[data.status] || data.status;
    tick(entry, BluelampLive.now());
  }

  function tick(entry, now) {
    var data = entry.data;
    entry.row.querySelector(".age").textContent = duration(now - Date.parse(data.created_at));
    var clock = entry.row.querySelector(".countdown");
    var shown = countdown(data, now);
    if (clock.dataset.state !== shown.state) clock.dataset.state = shown.state;
    clock.textContent = shown.text;
    entry.row.dataset.urgency = shown.state;
  }

  function incidentIcon(data) {
    var element = document.createElement("div");
    element.className = "incident-marker grade-" + data.grade + (data.incident_id === openId ? " open" : "");
    element.dataset.incidentId = data.incident_id;
    element.dataset.reference = data.reference;
    element.setAttribute("data-testid", "incident-marker");
    var glyph = document.createElement("span");
    glyph.className = "glyph";
    glyph.textContent = data.grade;
    element.appendChild(glyph);
    return L.divIcon({ className: "incident-icon", html: element, iconSize: [28, 28], iconAnchor: [14, 14] });
  }

  function upsertIncident(data) {
    var id = data.incident_id;
    if (!active.has(data.status)) {
      removeIncident(id);
      return;
    }
    var entry = incidents.get(id);
    if (!entry) {
      entry = { data: data, row: makeRow(id), marker: null };
      incidents.set(id, entry);
    } else {
      entry.data = Object.assign({}, entry.data, data);
    }
    fillRow(entry);
    var title = entry.data.reference + ": " + categoryName(entry.data.category);
    if (hasPosition(entry.data)) {
      if (!entry.marker) {
        entry.marker = L.marker([entry.data.lat, entry.data.lon], {
          icon: incidentIcon(entry.data),
          title: title,
          alt: entry.data.reference,
          keyboard: false,
          zIndexOffset: 1000,
        }).addTo(incidentLayer);
        entry.marker.on("click", function () { openIncident(id); });
      } else {
        entry.marker.setLatLng([entry.data.lat, entry.data.lon]);
        entry.marker.setIcon(incidentIcon(entry.data));
      }
    }
  }

  function removeIncident(id) {
    var entry = incidents.get(id);
    if (!entry) return;
    if (entry.marker) incidentLayer.removeLayer(entry.marker);
    entry.row.remove();
    incidents.delete(id);
    if (cursorId === id) cursorId = null;
  }

  function renderQueue() {
    var entries = Array.from(incidents.values()).sort(function (a, b) { return urgency(a.data, b.data); });
    order = entries.map(function (entry) { return entry.data.incident_id; });
    entries.forEach(function (entry) {
      var id = entry.data.incident_id;
      entry.row.classList.toggle("cursor", id === cursorId);
      entry.row.classList.toggle("open", id === openId);
      if (id === openId) entry.row.setAttribute("aria-current", "true");
      else entry.row.removeAttribute("aria-current");
    });
    var rows = entries.map(function (entry) { return entry.row; });
    var same = rows.length === queueBody.children.length && rows.every(function (row, n) { return queueBody.children[n] === row; });
    if (!same) queueBody.replaceChildren.apply(queueBody, rows);
    queueEmpty.hidden = entries.length > 0;
    queueCount.textContent = "(" + entries.length + ")";
  }

  // A need-to-know incident's change arrives as its id only: ask the server, which
  // answers only those on its access list (anyone else gets 404, and the row goes).
  function refetchRow(id) {
    fetch("/control/incidents/" + encodeURIComponent(id) + "/row", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 404) {
        removeIncident(id);
        renderQueue();
        return null;
      }
      return response.ok ? response.json() : null;
    }).then(function (row) {
      if (!row) return;
      upsertIncident(row);
      renderQueue();
    });
  }

  // ------------------------------------------------------------------ server-rendered parts, kept current

  // What the dispatcher has typed or ticked and not yet sent, to carry across a refresh.
  function fieldKey(element) {
    var form = element.form ? element.form.id : "";
    var extra = element.type === "radio" || element.type === "checkbox" ? element.value : "";
    return form + "|" + (element.id || element.name) + "|" + extra;
  }

  function unsent(container) {
    var saved = new Map();
    container.querySelectorAll("input, textarea, select").forEach(function (element) {
      if (element.type === "hidden" || element.type === "submit") return;
      if (element.type === "radio" || element.type === "checkbox") {
        if (element.checked !== element.defaultChecked) saved.set(fieldKey(element), element.checked);
      } else if (element.tagName === "SELECT") {
        var changed = Array.from(element.options).some(function (o) { return o.selected !== o.defaultSelected; });
        if (changed) saved.set(fieldKey(element), element.value);
      } else if (element.value !== element.defaultValue) {
        saved.set(fieldKey(element), element.value);
      }
    });
    container.querySelectorAll("details[open]").forEach(function (details) {
      if (details.id) saved.set("details|" + details.id, true);
    });
    return saved;
  }

  function restore(container, saved) {
    container.querySelectorAll("input, textarea, select").forEach(function (element) {
      var key = fieldKey(element);
      if (!saved.has(key)) return;
      if (element.type === "radio" || element.type === "checkbox") element.checked = saved.get(key);
      else element.value = saved.get(key);
    });
    container.querySelectorAll("details[id]").forEach(function (details) {
      if (saved.has("details|" + details.id)) details.open = true;
    });
  }

  // Fetch a part again and swap it in, keeping unsent input and the focus.
  function reload(container, url) {
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true", Accept: "text/html" } }).then(
      function (response) {
        if (response.headers.get("HX-Redirect")) {
          location.href = response.headers.get("HX-Redirect");
          return false;
        }
        if (!response.ok && response.status !== 404) return false;
        return response.text().then(function (html) {
          var saved = unsent(container);
          var focused = container.contains(document.activeElement) ? document.activeElement : null;
          var focusKey = focused && (focused.tagName === "INPUT" || focused.tagName === "TEXTAREA" || focused.tagName === "SELECT") ? fieldKey(focused) : null;
          var caret = focusKey && typeof focused.selectionStart === "number" ? [focused.selectionStart, focused.selectionEnd] : null;
          container.innerHTML = html;
          restore(container, saved);
          if (window.htmx) window.htmx.process(container);
          if (focusKey) {
            var again = Array.from(container.querySelectorAll("input, textarea, select")).find(function (e) { return fieldKey(e) === focusKey; });
            if (again) {
              again.focus();
              if (caret && typeof again.setSelectionRange === "function") {
                try { again.setSelectionRange(caret[0], caret[1]); } catch (error) { /* some inputs have no caret */ }
              }
            }
          }
          container.dispatchEvent(new CustomEvent("control:refreshed", { bubbles: true }));
          return true;
        });
      },
      function () { return false; }
    );
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(function () {
        timer = null;
        fn();
      }, ms);
    };
  }

  var refreshPanel = debounce(function () {
    if (openId) reload(panel, "/control/incidents/" + encodeURIComponent(openId));
  }, 120);
  var refreshTasks = debounce(function () { reload(tasks, "/control/tasks"); }, 300);

  // The server answers an action it refused (409, 422) or an incident that is not there
  // (404) with the part to show, messages included: swap it in like a success.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 404 || status === 409 || status === 422) && root.contains(event.detail.target)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // ------------------------------------------------------------------ opening an incident

  function markOpen() {
    incidents.forEach(function (entry, id) {
      if (entry.marker && entry.marker.getElement()) {
        var element = entry.marker.getElement().querySelector(".incident-marker");
        if (element) element.classList.toggle("open", id === openId);
      }
    });
    renderQueue();
  }

  function openIncident(id, options) {
    openId = id;
    cursorId = id;
    var url = new URL(location.href);
    url.searchParams.set("incident", id);
    url.searchParams.delete("notice");
    history.replaceState(null, "", url);
    markOpen();
    panel.innerHTML = '<p class="detail-empty">Loading…</p>';
    reload(panel, "/control/incidents/" + encodeURIComponent(id)).then(function () {
      if (options && options.focus) panel.focus();
    });
    var entry = incidents.get(id);
    if (entry && entry.row.scrollIntoView) entry.row.scrollIntoView({ block: "nearest" });
  }

  function showOnMap() {
    var entry = openId && incidents.get(openId);
    if (entry && hasPosition(entry.data)) map.setView([entry.data.lat, entry.data.lon], Math.max(map.getZoom(), 14));
  }

  // ------------------------------------------------------------------ the live feed

  function applyIncidentEvent(event) {
    var data = event.data;
    if (data.need_to_know && !data.reference) refetchRow(data.incident_id);
    else upsertIncident(data);
    if (data.incident_id === openId) refreshPanel();
    refreshTasks();
  }

  BluelampLive.subscribe(function (message) {
    if (message.type === "snapshot") {
      var seenUnits = new Set();
      (message.units || []).forEach(function (data) {
        seenUnits.add(data.id);
        upsertUnit(data);
      });
      units.forEach(function (unit, id) {
        if (seenUnits.has(id)) return;
        if (unit.marker) unitLayer.removeLayer(unit.marker);
        units.delete(id);
      });
      var seenIncidents = new Set();
      (message.incidents || []).forEach(function (data) {
        seenIncidents.add(data.incident_id);
        upsertIncident(data);
      });
      Array.from(incidents.keys()).forEach(function (id) { if (!seenIncidents.has(id)) removeIncident(id); });
      renderQueue();
      frameMap();
      root.dataset.snapshot = "true";
      snapshots += 1;
      if (snapshots > 1) {
        // Reconnected: fetch what may have changed while the feed was down.
        if (openId) refreshPanel();
        refreshTasks();
      }
      return;
    }
    var queueChanged = false;
    message.events.forEach(function (event) {
      if (event.name === "IncidentChanged") {
        applyIncidentEvent(event);
        queueChanged = true;
      } else {
        applyUnitEvent(event);
      }
    });
    if (queueChanged) renderQueue();
  });

  // Every second: ages and countdowns. Every few seconds: units' signal freshness.
  setInterval(function () {
    var now = BluelampLive.now();
    incidents.forEach(function (entry) { tick(entry, now); });
  }, 1000);
  setInterval(function () {
    units.forEach(function (unit) { if (unit.element) styleUnit(unit.element, unit.data); });
  }, 5000);

  // ------------------------------------------------------------------ keyboard

  function typing(target) {
    if (!target || !target.tagName) return false;
    return /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
  }

  function moveCursor(step) {
    if (!order.length) return;
    var index = order.indexOf(cursorId);
    index = index < 0 ? (step > 0 ? 0 : order.length - 1) : Math.min(order.length - 1, Math.max(0, index + step));
    cursorId = order[index];
    renderQueue();
    var entry = incidents.get(cursorId);
    if (entry && entry.row.scrollIntoView) entry.row.scrollIntoView({ block: "nearest" });
  }

  function click(selector) {
    var target = panel.querySelector(selector) || null;
    if (target && !target.disabled) target.click();
    return Boolean(target);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (shortcuts.open) return; // the dialog handles its own keys (Esc closes it)
    switch (event.key) {
      case "j":
        moveCursor(1);
        break;
      case "k":
        moveCursor(-1);
        break;
      case "Enter":
        if (!cursorId || (event.target && event.target.closest && event.target.closest("a, button"))) return;
        openIncident(cursorId, { focus: true });
        break;
      case "a":
        if (!click("[data-action=assign][data-top]")) return;
        break;
      case "n":
        var note = panel.querySelector("#note-text");
        if (!note) return;
        note.focus();
        break;
      case "t":
        var first = tasks.querySelector("input[type=text], button");
        if (!first) return;
        first.focus();
        break;
      case "m":
        showOnMap();
        break;
      case "c":
        if (!root.querySelector("[data-testid=new-call]")) return;
        location.href = "/control/call";
        break;
      case "?":
        shortcuts.showModal();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
  root.querySelector("[data-action=shortcuts]").addEventListener("click", function () { shortcuts.showModal(); });

  // A task's incident opens in the panel, not in a new page.
  tasks.addEventListener("click", function (event) {
    var link = event.target.closest("[data-open-incident]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    openIncident(link.dataset.openIncident, { focus: true });
  });

  // How many tasks are open, beside the heading, whoever refreshed the list.
  function countTasks() {
    var list = tasks.querySelector(".tasks-list");
    var count = root.querySelector("[data-testid=task-count]");
    count.textContent = list ? "(" + list.dataset.count + ")" : "";
  }
  tasks.addEventListener("htmx:afterSwap", countTasks);
  tasks.addEventListener("control:refreshed", countTasks);

  if (openId) openIncident(openId);
})();
