// A location's point on a small map. With no tile server configured (the default) the
// map draws no base layer, only a light grid for position and scale, as the resources
// map does; with one, its tiles.
(function () {
  "use strict";
  var element = document.getElementById("location-map");
  if (!element || !window.L) return;
  var lat = Number(element.dataset.lat);
  var lon = Number(element.dataset.lon);
  var tileUrl = element.dataset.tileUrl;
  var map = L.map(element, { attributionControl: Boolean(tileUrl), zoomSnap: 0.5, scrollWheelZoom: false });
  map.setView([lat, lon], 16);
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
  } else {
    element.classList.add("no-tiles");
  }
  L.control.scale({ imperial: false }).addTo(map);

  map.createPane("grid").style.zIndex = 250;
  var grid = L.layerGroup().addTo(map);
  function drawGrid() {
    if (tileUrl) return;
    grid.clearLayers();
    var bounds = map.getBounds();
    var span = Math.max(bounds.getNorth() - bounds.getSouth(), 1e-6);
    var step = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5].find(function (s) { return span / s <= 10; }) || 10;
    var style = { pane: "grid", color: "#9fb0c2", weight: 1, opacity: 0.55, interactive: false };
    for (var y = Math.floor(bounds.getSouth() / step) * step; y <= bounds.getNorth(); y += step) {
      grid.addLayer(L.polyline([[y, bounds.getWest() - 1], [y, bounds.getEast() + 1]], style));
    }
    var lonStep = step * 1.5;
    for (var x = Math.floor(bounds.getWest() / lonStep) * lonStep; x <= bounds.getEast(); x += lonStep) {
      grid.addLayer(L.polyline([[bounds.getSouth() - 1, x], [bounds.getNorth() + 1, x]], style));
    }
  }
  map.on("moveend", drawGrid);
  drawGrid();

  var pin = document.createElement("div");
  pin.className = "location-pin";
  pin.setAttribute("data-testid", "location-pin");
  L.marker([lat, lon], {
    icon: L.divIcon({ className: "location-icon", html: pin, iconSize: [22, 22], iconAnchor: [11, 11] }),
    title: element.dataset.label,
    keyboard: false,
  }).addTo(map);
  element.dataset.ready = "true";
})();
