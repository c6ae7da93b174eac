// The units table: sortable by any column, kept current by the live feed. The server
// renders the first rows; the snapshot replaces them and frames update them.
(function () {
  "use strict";
  var root = document.getElementById("resources");
  if (!root || root.dataset.page !== "units" || !window.BluelampLive) return;

  var labels = JSON.parse(root.dataset.labels);
  var staleSeconds = Number(root.dataset.staleSeconds);
  var offlineSeconds = Number(root.dataset.offlineSeconds);
  var table = root.querySelector(".units-table");
  var body = table.querySelector("tbody");
  var units = new Map(); // unit id -> data
  var sort = { key: "call_sign", ascending: true };
  var statusOrder = Object.keys(labels.status);
  var freshnessOrder = ["live", "stale", "offline"];

  function freshnessOf(data) {
    return BluelampLive.freshness(data.fix_at, staleSeconds, offlineSeconds);
  }

  function sortValue(data) {
    switch (sort.key) {
      case "status":
        return statusOrder.indexOf(data.status);
      case "freshness":
        return freshnessOrder.indexOf(freshnessOf(data));
      case "unit_type":
        return labels.unit_type[data.unit_type] || data.unit_type;
      case "capabilities":
        return data.capabilities.length;
      case "incident_id":
        return data.incident_id || "\uffff"; // units without an incident last
      default:
        return data.call_sign;
    }
  }

  function compare(a, b) {
    var x = sortValue(a);
    var y = sortValue(b);
    var order = x < y ? -1 : x > y ? 1 : a.call_sign < b.call_sign ? -1 : a.call_sign > b.call_sign ? 1 : 0;
    return sort.ascending ? order : -order;
  }

  function cell(content, name) {
    var td = document.createElement("td");
    if (name) td.dataset.cell = name;
    if (typeof content === "string") td.textContent = content;
    else td.append.apply(td, content);
    return td;
  }

  function swatch(status) {
    var display = labels.status[status] || { letter: "?", shape: "circle" };
    var element = document.createElement("span");
    element.className = "swatch status-" + status + " shape-" + display.shape;
    element.setAttribute("aria-hidden", "true");
    var glyph = document.createElement("span");
    glyph.className = "glyph";
    glyph.textContent = display.letter;
    element.appendChild(glyph);
    return element;
  }

  function row(data, changed) {
    var tr = document.createElement("tr");
    tr.dataset.unitId = data.id;
    tr.setAttribute("data-testid", "unit-row-" + data.call_sign);
    if (changed) tr.className = "changed";
    var link = document.createElement("a");
    link.href = "/resources?unit=" + encodeURIComponent(data.id);
    link.textContent = data.call_sign;
    var first = cell([link]);
    first.className = "call-sign";
    tr.appendChild(first);
    tr.appendChild(cell(labels.unit_type[data.unit_type] || data.unit_type));
    var status = labels.status[data.status] || { label: data.status };
    tr.appendChild(cell([swatch(data.status), " " + status.label], "status"));
    var freshness = freshnessOf(data);
    var badge = document.createElement("span");
    badge.className = "fresh-badge fresh-" + freshness;
    badge.textContent = labels.freshness[freshness];
    badge.title = data.fix_at ? "Last fix " + BluelampLive.age(data.fix_at) + " ago" : "No fix yet";
    tr.appendChild(cell([badge], "freshness"));
    tr.appendChild(
      cell(
        data.capabilities.map(function (c) {
          var tag = document.createElement("span");
          tag.className = "tag";
          tag.textContent = labels.capability[c] || c;
          return tag;
        })
      )
    );
    tr.appendChild(cell(data.incident_id || "—"));
    return tr;
  }

  function render(changedIds) {
    var rows = Array.from(units.values()).sort(compare);
    if (!rows.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      var td = document.createElement("td");
      td.colSpan = 6;
      td.textContent = "No units.";
      empty.appendChild(td);
      body.replaceChildren(empty);
    } else {
      body.replaceChildren.apply(body, rows.map(function (data) { return row(data, changedIds && changedIds.has(data.id)); }));
    }
    var counts = {};
    units.forEach(function (data) { counts[data.status] = (counts[data.status] || 0) + 1; });
    root.querySelectorAll("[data-count-status]").forEach(function (element) {
      element.textContent = counts[element.dataset.countStatus] || 0;
    });
    root.querySelector("[data-testid=unit-count]").textContent = units.size + (units.size === 1 ? " unit" : " units");
    table.querySelectorAll("th").forEach(function (th) {
      var button = th.querySelector("button[data-sort]");
      if (button && button.dataset.sort === sort.key) th.setAttribute("aria-sort", sort.ascending ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  }

  table.querySelectorAll("button[data-sort]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (sort.key === button.dataset.sort) sort.ascending = !sort.ascending;
      else sort = { key: button.dataset.sort, ascending: true };
      render();
    });
  });

  BluelampLive.subscribe(function (message) {
    if (message.type === "snapshot") {
      units.clear();
      message.units.forEach(function (data) { units.set(data.id, data); });
      render();
      return;
    }
    var changed = new Set();
    message.events.forEach(function (event) {
      var data = units.get(event.data.unit_id);
      if (!data) return;
      var next = Object.assign({}, data);
      if (event.name === "UnitMoved") {
        next.lat = event.data.lat;
        next.lon = event.data.lon;
        next.fix_at = event.data.at;
        next.speed_mps = event.data.speed_mps;
        if (event.data.status) next.status = event.data.status;
      } else if (event.name === "UnitStatusChanged") {
        next.status = event.data.to;
        next.incident_id = event.data.incident_id;
      } else if (event.name === "EmergencyRaised") {
        next.status = "emergency";
      } else {
        return;
      }
      if (next.status !== data.status || next.incident_id !== data.incident_id || freshnessOf(next) !== freshnessOf(data)) {
        changed.add(next.id);
      }
      units.set(next.id, next);
    });
    render(changed);
  });

  // Signals age without any message arriving.
  setInterval(function () { if (units.size) render(); }, 5000);
})();
