// The link chart: a record's associations to depth 2, drawn as SVG from the graph the
// server wrote into data-graph (no inline script: the CSP forbids it).
//
// A radial layout: the record in the middle, the records linked to it on a first ring,
// the records linked to those on a second, each in the arc of the record it was reached
// through, so that what belongs together sits together. Shape and colour say the type
// (person, object, location, event), a letter the kind, and every record is a link to
// its page, reachable with Tab. Links carry their role; several links between the same
// two records are drawn as one line naming every role. Drag to pan, wheel or buttons to
// zoom. The drawn records carry data-testid="chart-node"; the container says data-drawn.
(function () {
  "use strict";
  var container = document.getElementById("chart");
  if (!container || !container.dataset.graph) return;

  var SVG = "http://www.w3.org/2000/svg";
  var graph = JSON.parse(container.dataset.graph);
  var TYPE_ORDER = { person: 0, object: 1, location: 2, event: 3 };
  var GLYPHS = {
    person: "P", vehicle: "V", phone: "T", property: "Pr", weapon: "W", document: "D", location: "L",
    crime: "C", incident: "I", intelligence: "IR", stop_search: "SS", missing_person: "MP", custody: "CU",
  };
  var RING_GAP = 190; // the least distance between rings
  var FIRST_RING_SPACING = 110; // the least arc between two records on the first ring
  var OUTER_SPACING = 24; // ... and on the second (its labels point outwards when crowded)
  var LABEL_LENGTH = 28;
  var LABEL_ROOM = 170; // the arc a level label needs

  function make(name, attributes, parent) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) { element.setAttribute(key, attributes[key]); });
    if (parent) parent.appendChild(element);
    return element;
  }

  function short(text) {
    return text.length > LABEL_LENGTH ? text.slice(0, LABEL_LENGTH - 1) + "…" : text;
  }

  // ------------------------------------------------------------------ the tree behind the layout

  var nodes = new Map();
  graph.nodes.forEach(function (data) {
    nodes.set(data.key, { data: data, key: data.key, children: [], parent: null, level: null, x: 0, y: 0, angle: 0 });
  });
  var neighbours = new Map();
  nodes.forEach(function (node, key) { neighbours.set(key, []); });
  graph.edges.forEach(function (edge) {
    if (!nodes.has(edge.source) || !nodes.has(edge.target)) return;
    neighbours.get(edge.source).push(nodes.get(edge.target));
    neighbours.get(edge.target).push(nodes.get(edge.source));
  });

  function order(a, b) {
    var byType = TYPE_ORDER[a.data.type] - TYPE_ORDER[b.data.type];
    if (byType) return byType;
    return a.data.label < b.data.label ? -1 : a.data.label > b.data.label ? 1 : 0;
  }

  var rootNode = nodes.get(graph.root);
  rootNode.level = 0;
  var queue = [rootNode];
  while (queue.length) {
    var current = queue.shift();
    neighbours.get(current.key).slice().sort(order).forEach(function (next) {
      if (next.level !== null) return;
      next.level = current.level + 1;
      next.parent = current;
      current.children.push(next);
      queue.push(next);
    });
  }
  nodes.forEach(function (node) { // never expected: every record came in through a link
    if (node.level !== null) return;
    node.level = 1;
    node.parent = rootNode;
    rootNode.children.push(node);
  });

  // Around the first ring, records linked to each other sit side by side (a vehicle next
  // to the stop it was searched in), so that their links do not cross the middle.
  function linked(a, b) {
    return neighbours.get(a.key).indexOf(b) >= 0;
  }
  function chain(list) {
    var rest = list.slice();
    var out = [];
    while (rest.length) {
      var last = out[out.length - 1];
      var index = last ? rest.findIndex(function (n) { return linked(last, n); }) : -1;
      out.push(rest.splice(index < 0 ? 0 : index, 1)[0]);
    }
    return out;
  }
  rootNode.children = chain(rootNode.children);
  var first = rootNode.children;
  var outerCount = 0;
  first.forEach(function (node) { outerCount += node.children.length; });
  // A record on the first ring gets an arc for its own records plus a share of its own
  // (the average number of records per branch), so that neighbours without records of
  // their own do not pile up.
  var share = Math.max(1, outerCount / Math.max(first.length, 1));
  var total = 0;
  first.forEach(function (node) {
    node.weight = node.children.length + share;
    total += node.weight;
  });
  var r1 = Math.max(RING_GAP, (FIRST_RING_SPACING * total) / (2 * Math.PI * share));
  var r2 = Math.max(r1 + RING_GAP, (OUTER_SPACING * total) / (2 * Math.PI));

  function place(node, radius, angle, arc) {
    node.angle = angle;
    node.arc = arc;
    node.x = radius * Math.cos(angle);
    node.y = radius * Math.sin(angle);
  }

  var start = -Math.PI / 2;
  first.forEach(function (node) {
    var sweep = (2 * Math.PI * node.weight) / total;
    var radius = first.length === 1 && !node.children.length ? RING_GAP : r1;
    place(node, radius, start + sweep / 2, radius * sweep);
    var step = sweep / Math.max(node.children.length + share, 1);
    var offset = start + (sweep - step * node.children.length) / 2 + step / 2;
    node.children.forEach(function (child, index) {
      place(child, r2, offset + index * step, r2 * step);
      child.children.forEach(function (deeper, i) { place(deeper, r2 + RING_GAP, child.angle + i * 0.02, 0); });
    });
    start += sweep;
  });
  place(rootNode, 0, Math.PI / 2, Infinity);

  // ------------------------------------------------------------------ drawing

  var svg = make("svg", { class: "chart-svg", role: "presentation", "data-testid": "chart-svg" });
  var defs = make("defs", {}, svg);
  var arrow = make("marker", {
    id: "chart-arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7",
    orient: "auto-start-reverse",
  }, defs);
  make("path", { d: "M0,0 L10,5 L0,10 z", class: "chart-arrow" }, arrow);
  var viewport = make("g", { class: "chart-viewport" }, svg);
  var edgeLayer = make("g", { class: "chart-edges" }, viewport);
  var nodeLayer = make("g", { class: "chart-nodes" }, viewport);

  function radiusOf(node) {
    return node.level === 0 ? 22 : node.level === 1 ? 16 : 12;
  }

  function shape(node, parent) {
    var r = radiusOf(node);
    var type = node.data.type;
    var attributes = { class: "node-shape node-" + type };
    if (type === "person") return make("circle", Object.assign(attributes, { r: r }), parent);
    if (type === "object") {
      return make("rect", Object.assign(attributes, { x: -r * 0.9, y: -r * 0.9, width: r * 1.8, height: r * 1.8, rx: 2 }), parent);
    }
    if (type === "location") {
      var d = r * 1.15;
      return make("polygon", Object.assign(attributes, { points: [0, -d, d, 0, 0, d, -d, 0].join(",") }), parent);
    }
    var h = r * 0.87;
    var points = [-r, 0, -r / 2, -h, r / 2, -h, r, 0, r / 2, h, -r / 2, h];
    return make("polygon", Object.assign(attributes, { points: points.join(",") }), parent);
  }

  // Links: one line per pair of records, naming each role.
  var pairs = new Map();
  graph.edges.forEach(function (edge) {
    if (!nodes.has(edge.source) || !nodes.has(edge.target)) return;
    var forward = edge.source < edge.target;
    var id = forward ? edge.source + "|" + edge.target : edge.target + "|" + edge.source;
    var pair = pairs.get(id);
    if (!pair) {
      pair = { a: nodes.get(forward ? edge.source : edge.target), b: nodes.get(forward ? edge.target : edge.source), roles: [], toB: false, toA: false };
      pairs.set(id, pair);
    }
    if (pair.roles.indexOf(edge.label) < 0) pair.roles.push(edge.label);
    if (forward) pair.toB = true;
    else pair.toA = true;
  });

  var edgeElements = [];
  pairs.forEach(function (pair) {
    var dx = pair.b.x - pair.a.x;
    var dy = pair.b.y - pair.a.y;
    var length = Math.max(Math.sqrt(dx * dx + dy * dy), 1);
    var ux = dx / length;
    var uy = dy / length;
    var ra = radiusOf(pair.a) + 3;
    var rb = radiusOf(pair.b) + 3;
    var group = make("g", { class: "chart-edge", "data-testid": "chart-edge", "data-roles": pair.roles.join(",") }, edgeLayer);
    var attributes = {
      x1: pair.a.x + ux * ra, y1: pair.a.y + uy * ra, x2: pair.b.x - ux * rb, y2: pair.b.y - uy * rb, class: "edge-line",
    };
    if (pair.toB) attributes["marker-end"] = "url(#chart-arrow)";
    if (pair.toA) attributes["marker-start"] = "url(#chart-arrow)";
    make("line", attributes, group);
    // The role sits past the middle, towards the record further out, where lines fanning
    // out of one record have drawn apart.
    var t = pair.a.level < pair.b.level ? 0.6 : pair.a.level > pair.b.level ? 0.4 : 0.5;
    var text = make("text", {
      x: pair.a.x + dx * t, y: pair.a.y + dy * t, class: "edge-label", "text-anchor": "middle", dy: "0.35em",
    }, group);
    text.textContent = pair.roles.join(" · ");
    edgeElements.push({ element: group, a: pair.a.key, b: pair.b.key });
  });

  // Labels point away from the middle: along the radius for a crowded record with no
  // records of its own (so that neighbours' labels do not overlap), otherwise level,
  // beside, above or below the record on its outer side.
  function labelAt(label, node) {
    var r = radiusOf(node) + 5;
    var c = Math.cos(node.angle);
    var s = Math.sin(node.angle);
    // Beside the record (left or right of the middle) a level label has room; above and
    // below, a crowded one turns along the radius.
    node.radial = node.level > 0 && !node.children.length && node.arc < LABEL_ROOM && Math.abs(c) <= 0.55;
    if (node.radial) {
      var degrees = (node.angle * 180) / Math.PI;
      label.setAttribute("transform", "rotate(" + (c < 0 ? degrees + 180 : degrees).toFixed(1) + ")");
      label.setAttribute("x", c < 0 ? -r : r);
      label.setAttribute("dy", "0.35em");
      label.setAttribute("text-anchor", c < 0 ? "end" : "start");
    } else if (node.level > 0 && Math.abs(c) > 0.55) {
      label.setAttribute("x", c > 0 ? r : -r);
      label.setAttribute("dy", "0.35em");
      label.setAttribute("text-anchor", c > 0 ? "start" : "end");
    } else {
      label.setAttribute("y", node.level > 0 && s < 0 ? -r - 4 : r + 12);
      label.setAttribute("text-anchor", "middle");
    }
  }

  var nodeElements = new Map();
  nodes.forEach(function (node) {
    var data = node.data;
    var name = data.kind_label + ": " + data.label;
    var link = make("a", {
      href: data.url, class: "chart-node node-" + data.type + " level-" + node.level + (node.level === 0 ? " chart-root" : ""),
      transform: "translate(" + node.x.toFixed(1) + "," + node.y.toFixed(1) + ")",
      "data-testid": "chart-node", "data-key": data.key, "data-type": data.type, "data-kind": data.kind,
      "aria-label": name + (node.level === 0 ? " (this record)" : ""),
    }, nodeLayer);
    make("title", {}, link).textContent = name;
    shape(node, link);
    var glyph = make("text", { class: "node-glyph", "text-anchor": "middle", dy: "0.35em" }, link);
    glyph.textContent = GLYPHS[data.kind] || GLYPHS[data.type] || "?";
    var label = make("text", { class: "node-label" }, link);
    label.textContent = node.level === 0 ? data.label : short(data.label);
    labelAt(label, node);
    nodeElements.set(data.key, link);
  });

  container.appendChild(svg);

  // ------------------------------------------------------------------ highlighting a record's links

  function highlight(key) {
    svg.classList.toggle("chart-focus", Boolean(key));
    var near = new Set(key ? [key] : []);
    edgeElements.forEach(function (edge) {
      var on = key && (edge.a === key || edge.b === key);
      edge.element.classList.toggle("is-near", Boolean(on));
      if (on) {
        near.add(edge.a);
        near.add(edge.b);
      }
    });
    nodeElements.forEach(function (element, nodeKey) { element.classList.toggle("is-near", near.has(nodeKey)); });
  }

  nodeElements.forEach(function (element, key) {
    element.addEventListener("mouseenter", function () { highlight(key); });
    element.addEventListener("mouseleave", function () { highlight(null); });
    element.addEventListener("focus", function () {
      highlight(key);
      reveal(nodes.get(key));
    });
    element.addEventListener("blur", function () { highlight(null); });
  });

  // ------------------------------------------------------------------ pan and zoom

  var view = { k: 1, x: 0, y: 0 };

  function apply() {
    viewport.setAttribute("transform", "translate(" + view.x.toFixed(1) + "," + view.y.toFixed(1) + ") scale(" + view.k.toFixed(4) + ")");
    container.dataset.zoom = view.k.toFixed(3);
  }

  function size() {
    var box = svg.getBoundingClientRect();
    return { width: box.width || 800, height: box.height || 600 };
  }

  function fit() {
    var bounds = viewport.getBBox(); // everything drawn, labels included, before the view's own transform
    var pad = 16;
    var box = size();
    view.k = Math.min(box.width / (bounds.width + 2 * pad), box.height / (bounds.height + 2 * pad), 1.4);
    view.x = box.width / 2 - (bounds.x + bounds.width / 2) * view.k;
    view.y = box.height / 2 - (bounds.y + bounds.height / 2) * view.k;
    apply();
  }

  function zoom(factor, px, py) {
    var k = Math.min(Math.max(view.k * factor, 0.05), 4);
    factor = k / view.k;
    view.x = px - (px - view.x) * factor;
    view.y = py - (py - view.y) * factor;
    view.k = k;
    apply();
  }

  // Keep a record reached with Tab inside the view.
  function reveal(node) {
    var box = size();
    var sx = node.x * view.k + view.x;
    var sy = node.y * view.k + view.y;
    if (sx > 40 && sx < box.width - 40 && sy > 40 && sy < box.height - 40) return;
    view.x = box.width / 2 - node.x * view.k;
    view.y = box.height / 2 - node.y * view.k;
    apply();
  }

  svg.addEventListener("wheel", function (event) {
    event.preventDefault();
    var box = svg.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });

  var drag = null;
  var dragged = false;
  svg.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y, id: event.pointerId };
    dragged = false;
  });
  svg.addEventListener("pointermove", function (event) {
    if (!drag || drag.id !== event.pointerId) return;
    var dx = event.clientX - drag.x;
    var dy = event.clientY - drag.y;
    if (!dragged && Math.abs(dx) + Math.abs(dy) < 5) return;
    if (!dragged) {
      dragged = true;
      svg.setPointerCapture(event.pointerId);
      svg.classList.add("is-dragging");
    }
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    apply();
  });
  function endDrag() {
    drag = null;
    svg.classList.remove("is-dragging");
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  // A drag that ends on a record does not open it.
  svg.addEventListener("click", function (event) {
    if (dragged) {
      event.preventDefault();
      dragged = false;
    }
  }, true);

  function centre() {
    var box = size();
    return [box.width / 2, box.height / 2];
  }
  var tools = document.querySelector(".chart-tools");
  if (tools) {
    tools.querySelector("[data-chart=zoom-in]").addEventListener("click", function () { zoom(1.3, centre()[0], centre()[1]); });
    tools.querySelector("[data-chart=zoom-out]").addEventListener("click", function () { zoom(1 / 1.3, centre()[0], centre()[1]); });
    tools.querySelector("[data-chart=fit]").addEventListener("click", fit);
    var labels = tools.querySelector("[data-chart=edge-labels]");
    labels.checked = pairs.size <= 120;
    var showLabels = function () { svg.classList.toggle("no-edge-labels", !labels.checked); };
    labels.addEventListener("change", showLabels);
    showLabels();
  }

  fit();
  window.addEventListener("resize", fit);
  container.dataset.nodes = String(nodes.size);
  container.dataset.edges = String(pairs.size);
  container.dataset.drawn = "true";
})();
