// The live resources map: units as markers (colour, letter and shape by status;
// faded or dashed when their signal is old), filters by status and capability, a
// unit's details and last hour's trail on selection, stations and geofence outlines.
// With no tile server configured the map draws no base layer, only a light grid.
(function () {
  "use strict";
  var root = document.getElementById("resources");
  if (!root || root.dataset.page !== "map" || !window.L || !window.BluelampLive) return;

  var labels = JSON.parse(root.dataset.labels);
  var staleSeconds = Number(root.dataset.staleSeconds);
  var offlineSeconds = Number(root.dataset.offlineSeconds);
  var tileUrl = root.dataset.tileUrl;
  var filterForm = root.querySelector(".map-filters");
  var unitList = root.querySelector(".unit-list");
  var details = document.getElementById("unit-details");
  var units = new Map(); // unit id -> {data, marker, element}
  var selectedId = new URLSearchParams(location.search).get("unit");
  var trail = null; // {unitId, line}
  var framed = false;
  var stationBounds = [];
  var stationsLoaded = false;
  var snapshotLoaded = false;

  // ------------------------------------------------------------------ the map

  var map = L.map("map", { attributionControl: Boolean(tileUrl), zoomSnap: 0.5 }).setView([52.85, -2.05], 10);
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
  } else {
    root.classList.add("no-tiles");
  }
  L.control.scale({ imperial: false }).addTo(map);
  map.createPane("grid").style.zIndex = 250;
  var gridLayer = L.layerGroup().addTo(map);
  var fenceLayer = L.layerGroup().addTo(map);
  var stationLayer = L.layerGroup().addTo(map);
  var trailLayer = L.layerGroup().addTo(map);
  var unitLayer = L.layerGroup().addTo(map);

  // A graticule gives a sense of place and scale where there are no tiles.
  function drawGrid() {
    if (tileUrl) return;
    gridLayer.clearLayers();
    var bounds = map.getBounds();
    var span = Math.max(bounds.getNorth() - bounds.getSouth(), 1e-6);
    var step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5].find(function (s) { return span / s <= 12; }) || 10;
    var style = { pane: "grid", color: "#9fb0c2", weight: 1, opacity: 0.55, interactive: false };
    for (var lat = Math.floor(bounds.getSouth() / step) * step; lat <= bounds.getNorth(); lat += step) {
      gridLayer.addLayer(L.polyline([[lat, bounds.getWest() - 1], [lat, bounds.getEast() + 1]], style));
    }
    var lonStep = step * 1.5;
    for (var lon = Math.floor(bounds.getWest() / lonStep) * lonStep; lon <= bounds.getEast(); lon += lonStep) {
      gridLayer.addLayer(L.polyline([[bounds.getSouth() - 1, lon], [bounds.getNorth() + 1, lon]], style));
    }
  }
  map.on("moveend", drawGrid);
  drawGrid();

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.json();
    });
  }

  // ------------------------------------------------------------------ stations and geofences

  function stationIcon(station) {
    var element = document.createElement("div");
    element.className = "station-marker";
    element.textContent = station.code;
    return L.divIcon({ className: "station-icon", html: element, iconSize: null, iconAnchor: [14, 10] });
  }

  getJson("/api/v1/stations").then(function (stations) {
    stations.forEach(function (station) {
      stationBounds.push([station.lat, station.lon]);
      L.marker([station.lat, station.lon], {
        icon: stationIcon(station),
        title: station.name,
        keyboard: false,
        zIndexOffset: -1000,
      })
        .bindTooltip(station.name + (station.address ? " · " + station.address : ""))
        .addTo(stationLayer);
    });
    stationsLoaded = true;
    frame();
  }, function () {
    stationsLoaded = true;
    frame();
  });

  getJson("/api/v1/geofences").then(function (collection) {
    L.geoJSON(collection, {
      interactive: true,
      style: function (feature) {
        var station = feature.properties.kind === "station";
        return {
          className: "geofence geofence-" + feature.properties.kind,
          color: station ? "#0b2a6f" : "#1d4ed8",
          weight: station ? 1.5 : 2,
          dashArray: station ? "3 3" : "8 5",
          fillOpacity: station ? 0.08 : 0.03,
        };
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(feature.properties.name, { sticky: true });
      },
    }).addTo(fenceLayer);
  });

  // Once, when the stations and the first snapshot are in: show every unit and station.
  function frame() {
    if (framed || !stationsLoaded || !snapshotLoaded) return;
    framed = true;
    root.dataset.framed = "true";
    var points = stationBounds.slice();
    units.forEach(function (unit) {
      if (unit.data.lat !== null && unit.data.lat !== undefined) points.push([unit.data.lat, unit.data.lon]);
    });
    if (!points.length) return;
    // No animation: the view settles at once, before the first move arrives.
    if (points.length === 1) map.setView(points[0], 13, { animate: false });
    else map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 14, animate: false });
  }

  // ------------------------------------------------------------------ units

  function statusOf(status) {
    return labels.status[status] || { label: status, letter: "?", shape: "circle" };
  }

  function freshnessOf(data) {
    return BluelampLive.freshness(data.fix_at, staleSeconds, offlineSeconds);
  }

  function hasPosition(data) {
    return data.lat !== null && data.lat !== undefined && data.lon !== null && data.lon !== undefined;
  }

  function markerTitle(data) {
    return data.call_sign + ": " + statusOf(data.status).label + ", " + labels.freshness[freshnessOf(data)];
  }

  function styleElement(element, data) {
    var display = statusOf(data.status);
    element.className =
      "unit-marker status-" + data.status + " shape-" + display.shape + " fresh-" + freshnessOf(data) +
      (data.id === selectedId ? " selected" : "");
    element.querySelector(".glyph").textContent = display.letter;
    element.dataset.status = data.status;
    element.dataset.lat = hasPosition(data) ? String(data.lat) : "";
    element.dataset.lon = hasPosition(data) ? String(data.lon) : "";
  }

  function createMarker(data) {
    var element = document.createElement("div");
    element.dataset.unitId = data.id;
    element.dataset.callSign = data.call_sign;
    element.setAttribute("data-testid", "unit-marker");
    var glyph = document.createElement("span");
    glyph.className = "glyph";
    var label = document.createElement("span");
    label.className = "label";
    label.textContent = data.call_sign;
    element.appendChild(glyph);
    element.appendChild(label);
    styleElement(element, data);
    var marker = L.marker([data.lat, data.lon], {
      icon: L.divIcon({ className: "unit-icon", html: element, iconSize: [26, 26], iconAnchor: [13, 13] }),
      title: markerTitle(data),
      alt: data.call_sign,
      riseOnHover: true,
    });
    marker.on("click", function () { select(data.id); });
    marker.on("keypress", function (event) {
      if (event.originalEvent.key === "Enter") select(data.id);
    });
    return { marker: marker, element: element };
  }

  function upsert(data) {
    var unit = units.get(data.id);
    if (!unit) {
      unit = { data: data, marker: null, element: null };
      units.set(data.id, unit);
    } else {
      unit.data = data;
    }
    if (hasPosition(data)) {
      if (!unit.marker) {
        var made = createMarker(data);
        unit.marker = made.marker;
        unit.element = made.element;
      } else {
        unit.marker.setLatLng([data.lat, data.lon]);
        styleElement(unit.element, data);
        var icon = unit.marker.getElement();
        if (icon) icon.title = markerTitle(data);
      }
    }
    return unit;
  }

  function currentFilter() {
    var form = new FormData(filterForm);
    return { statuses: form.getAll("status"), capabilities: form.getAll("capability") };
  }

  function shown(data, filter) {
    return (
      filter.statuses.indexOf(data.status) >= 0 &&
      filter.capabilities.every(function (c) { return data.capabilities.indexOf(c) >= 0; })
    );
  }

  // Markers on the map, the list beside it, and the counts, as the filters say.
  function refresh() {
    var counts = {};
    var visible = [];
    var filter = currentFilter();
    units.forEach(function (unit) {
      counts[unit.data.status] = (counts[unit.data.status] || 0) + 1;
      var show = shown(unit.data, filter);
      if (show) visible.push(unit.data);
      if (!unit.marker) return;
      if (show && !unitLayer.hasLayer(unit.marker)) unitLayer.addLayer(unit.marker);
      if (!show && unitLayer.hasLayer(unit.marker)) unitLayer.removeLayer(unit.marker);
    });
    root.querySelectorAll("[data-count-status]").forEach(function (element) {
      element.textContent = counts[element.dataset.countStatus] || 0;
    });
    root.querySelector("[data-testid=unit-count]").textContent = units.size + (units.size === 1 ? " unit" : " units");
    root.querySelector("[data-testid=shown-count]").textContent = "(" + visible.length + " shown)";
    visible.sort(function (a, b) { return a.call_sign < b.call_sign ? -1 : a.call_sign > b.call_sign ? 1 : 0; });
    unitList.replaceChildren.apply(unitList, visible.map(listItem));
    if (selectedId) showDetails();
  }

  function listItem(data) {
    var display = statusOf(data.status);
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "unit-item" + (data.id === selectedId ? " selected" : "");
    button.dataset.unitId = data.id;
    if (data.id === selectedId) button.setAttribute("aria-current", "true");
    var swatch = document.createElement("span");
    swatch.className = "swatch status-" + data.status + " shape-" + display.shape + " fresh-" + freshnessOf(data);
    swatch.setAttribute("aria-hidden", "true");
    var glyph = document.createElement("span");
    glyph.className = "glyph";
    glyph.textContent = display.letter;
    swatch.appendChild(glyph);
    var name = document.createElement("span");
    name.className = "unit-item-call-sign";
    name.textContent = data.call_sign;
    var status = document.createElement("span");
    status.className = "unit-item-status";
    status.textContent = display.label + (hasPosition(data) ? "" : " · no position");
    button.append(swatch, name, status);
    button.addEventListener("click", function () { select(data.id, true); });
    li.appendChild(button);
    return li;
  }

  // ------------------------------------------------------------------ details and trail

  function field(name, value) {
    var element = details.querySelector('[data-field="' + name + '"]');
    if (typeof value === "string") element.textContent = value;
    else element.replaceChildren(value);
  }

  function tags(values, kind) {
    var fragment = document.createDocumentFragment();
    if (!values.length) fragment.append("None");
    values.forEach(function (value) {
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = labels[kind][value] || value;
      fragment.appendChild(tag);
    });
    return fragment;
  }

  function showDetails() {
    var unit = units.get(selectedId);
    if (!unit) return;
    var data = unit.data;
    var display = statusOf(data.status);
    var freshness = freshnessOf(data);
    details.hidden = false;
    field("call_sign", data.call_sign);
    field("unit_type", labels.unit_type[data.unit_type] || data.unit_type);
    var status = document.createElement("span");
    status.className = "status-pill status-" + data.status;
    status.textContent = display.letter + " · " + display.label;
    field("status", status);
    field("last_fix", data.fix_at ? BluelampLive.age(data.fix_at) + " ago (" + BluelampLive.clock(data.fix_at) + ")" : "No fix yet");
    var badge = document.createElement("span");
    badge.className = "fresh-badge fresh-" + freshness;
    badge.textContent = labels.freshness[freshness];
    field("freshness", badge);
    field("speed", data.speed_mps === null || data.speed_mps === undefined ? "—" : Math.round(data.speed_mps * 3.6) + " km/h");
    field("position", hasPosition(data) ? data.lat.toFixed(5) + ", " + data.lon.toFixed(5) : "Unknown");
    field("capabilities", tags(data.capabilities, "capability"));
    field("incident", data.incident_id || "—");
  }

  function loadCrew(unitId) {
    field("crew", "Loading…");
    getJson("/api/v1/units/" + encodeURIComponent(unitId) + "/crew").then(
      function (crew) {
        if (selectedId !== unitId) return;
        if (!crew.length) {
          field("crew", "No crew booked on");
          return;
        }
        var list = document.createElement("ul");
        list.className = "crew";
        crew.forEach(function (officer) {
          var li = document.createElement("li");
          li.textContent = officer.rank + " " + officer.name + " (" + officer.collar_number + ")";
          list.appendChild(li);
        });
        field("crew", list);
      },
      function () { if (selectedId === unitId) field("crew", "Could not load the crew"); }
    );
  }

  function loadTrail(unitId) {
    trailLayer.clearLayers();
    trail = null;
    field("trail", "Loading…");
    getJson("/api/v1/units/" + encodeURIComponent(unitId) + "/trail").then(
      function (collection) {
        if (selectedId !== unitId) return;
        var points = collection.features
          .filter(function (f) { return f.geometry.type === "Point"; })
          .map(function (f) { return { latlng: [f.geometry.coordinates[1], f.geometry.coordinates[0]], at: f.properties.at }; });
        var line = L.polyline(points.map(function (p) { return p.latlng; }), { className: "trail-line", color: "#0b2a6f", weight: 3, opacity: 0.8, dashArray: "6 4", interactive: false });
        trailLayer.addLayer(line);
        points.forEach(function (p) {
          trailLayer.addLayer(
            L.circleMarker(p.latlng, { radius: 3, color: "#0b2a6f", weight: 1, fillColor: "#ffffff", fillOpacity: 1 }).bindTooltip(BluelampLive.clock(p.at))
          );
        });
        trail = { unitId: unitId, line: line, count: points.length };
        field("trail", points.length ? points.length + " fixes in the last hour" : "No fixes in the last hour");
      },
      function () { if (selectedId === unitId) field("trail", "Could not load the trail"); }
    );
  }

  function select(unitId, centre) {
    var unit = units.get(unitId);
    if (!unit) return;
    var previous = selectedId;
    selectedId = unitId;
    if (previous && units.get(previous) && units.get(previous).element) styleElement(units.get(previous).element, units.get(previous).data);
    if (unit.element) styleElement(unit.element, unit.data);
    var url = new URL(location.href);
    url.searchParams.set("unit", unitId);
    history.replaceState(null, "", url);
    refresh();
    loadCrew(unitId);
    loadTrail(unitId);
    if (centre && hasPosition(unit.data)) map.panTo([unit.data.lat, unit.data.lon]);
  }

  function closeDetails() {
    var previous = units.get(selectedId);
    selectedId = null;
    details.hidden = true;
    trailLayer.clearLayers();
    trail = null;
    if (previous && previous.element) styleElement(previous.element, previous.data);
    var url = new URL(location.href);
    url.searchParams.delete("unit");
    history.replaceState(null, "", url);
    refresh();
  }

  details.querySelector("[data-action=close-details]").addEventListener("click", closeDetails);
  details.querySelector("[data-action=centre]").addEventListener("click", function () {
    var unit = units.get(selectedId);
    if (unit && hasPosition(unit.data)) map.setView([unit.data.lat, unit.data.lon], Math.max(map.getZoom(), 14));
  });
  document.addEventListener("bluelamp:focus-unit", function (event) {
    if (!units.has(event.detail)) return;
    event.preventDefault();
    select(event.detail, true);
  });
  filterForm.addEventListener("change", refresh);
  filterForm.querySelector("[data-action=show-all]").addEventListener("click", function () {
    filterForm.querySelectorAll("input[name=status]").forEach(function (input) { input.checked = true; });
    filterForm.querySelectorAll("input[name=capability]").forEach(function (input) { input.checked = false; });
    refresh();
  });

  // ------------------------------------------------------------------ the live feed

  function apply(event) {
    var data = event.data;
    var unit = units.get(data.unit_id);
    if (!unit) return;
    var next = Object.assign({}, unit.data);
    if (event.name === "UnitMoved") {
      next.lat = data.lat;
      next.lon = data.lon;
      next.fix_at = data.at;
      next.speed_mps = data.speed_mps;
      next.bearing = data.bearing;
      if (data.status) next.status = data.status;
      upsert(next);
      if (trail && trail.unitId === data.unit_id) {
        trail.line.addLatLng([data.lat, data.lon]);
        trail.count += 1;
        field("trail", trail.count + " fixes in the last hour");
      }
    } else if (event.name === "UnitStatusChanged") {
      next.status = data.to;
      next.incident_id = data.incident_id;
      upsert(next);
    } else if (event.name === "EmergencyRaised") {
      next.status = "emergency";
      upsert(next);
    }
  }

  BluelampLive.subscribe(function (message) {
    if (message.type === "snapshot") {
      var seen = new Set();
      message.units.forEach(function (data) {
        seen.add(data.id);
        upsert(data);
      });
      units.forEach(function (unit, id) {
        if (seen.has(id)) return;
        if (unit.marker) unitLayer.removeLayer(unit.marker);
        units.delete(id);
      });
      refresh();
      snapshotLoaded = true;
      frame();
      if (selectedId && units.has(selectedId) && !trail) select(selectedId, false);
      return;
    }
    message.events.forEach(apply);
    refresh();
  });

  // Signals age without any message arriving: restyle every few seconds.
  setInterval(function () {
    units.forEach(function (unit) {
      if (!unit.element) return;
      styleElement(unit.element, unit.data);
      var icon = unit.marker.getElement();
      if (icon) icon.title = markerTitle(unit.data);
    });
    if (selectedId) showDetails();
  }, 5000);
})();
