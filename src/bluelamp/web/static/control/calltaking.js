// The call-taking form: a category search over the force's NSIR categories (a plain
// <select> without script), the category's default grade preselected, a map click or
// typed coordinates for the location, possible duplicates asked for as the category and
// location are entered, and one submission however often the button is pressed.
(function () {
  "use strict";
  var root = document.getElementById("call-page");
  var form = document.getElementById("call-form");
  if (!root || !form) return;

  var select = form.querySelector("#category");
  var latInput = form.querySelector("#lat");
  var lonInput = form.querySelector("#lon");
  var defaultGrades = JSON.parse(form.dataset.defaultGrades || "{}");
  var gradeTouched = Boolean(form.querySelector("input[name=grade]:checked"));

  // ------------------------------------------------------------------ duplicates

  // The #duplicates panel asks the server (htmx) when it hears this event; the server
  // answers with nothing until it has a category and a location.
  function checkDuplicates() {
    if (window.htmx) window.htmx.trigger(document.body, "duplicates-check");
  }

  // ------------------------------------------------------------------ grade

  form.querySelectorAll("input[name=grade]").forEach(function (input) {
    input.addEventListener("change", function () { gradeTouched = true; });
  });

  function preselectGrade(code) {
    if (gradeTouched) return;
    var grade = defaultGrades[code];
    form.querySelectorAll("input[name=grade]").forEach(function (input) {
      input.checked = Boolean(grade) && input.value === grade;
    });
  }

  select.addEventListener("change", function () {
    preselectGrade(select.value);
    checkDuplicates();
  });

  // ------------------------------------------------------------------ category search

  var categories = Array.from(select.options)
    .filter(function (option) { return option.value; })
    .map(function (option) {
      return {
        code: option.value,
        name: option.textContent,
        family: option.dataset.family || "",
        haystack: (option.textContent + " " + (option.dataset.family || "") + " " + option.value.replace(/_/g, " ")).toLowerCase(),
      };
    });

  var search = document.createElement("input");
  search.type = "search";
  search.id = "category-search";
  search.autocomplete = "off";
  search.spellcheck = false;
  search.placeholder = "Type to search: burglary, collision, concern…";
  search.setAttribute("role", "combobox");
  search.setAttribute("aria-autocomplete", "list");
  search.setAttribute("aria-expanded", "false");
  search.setAttribute("aria-controls", "category-options");
  search.setAttribute("aria-describedby", select.getAttribute("aria-describedby") || "category-hint");
  if (select.getAttribute("aria-invalid")) search.setAttribute("aria-invalid", "true");
  search.setAttribute("data-testid", "category-search");
  var list = document.createElement("ul");
  list.id = "category-options";
  list.className = "category-options";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Matching categories");
  list.hidden = true;
  var chosen = document.createElement("div");
  chosen.className = "category-chosen";
  chosen.setAttribute("data-testid", "category-chosen");
  var wrap = document.createElement("div");
  wrap.className = "category-search";
  wrap.append(search, list);
  select.after(wrap, chosen);
  var label = form.querySelector('label[for="category"]');
  if (label) label.htmlFor = "category-search";
  select.tabIndex = -1;
  select.setAttribute("aria-hidden", "true");
  form.classList.add("enhanced");

  var matches = [];
  var active = -1;

  function byCode(code) {
    return categories.find(function (c) { return c.code === code; });
  }

  function showChosen() {
    var category = byCode(select.value);
    chosen.textContent = category ? category.family + " · " + category.name : "";
  }

  function renderList() {
    list.replaceChildren();
    if (!matches.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "No category matches";
      list.appendChild(none);
    }
    matches.forEach(function (category, n) {
      var li = document.createElement("li");
      li.id = "category-option-" + category.code;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", n === active ? "true" : "false");
      li.dataset.code = category.code;
      var name = document.createElement("span");
      name.textContent = category.name;
      var family = document.createElement("span");
      family.className = "family";
      family.textContent = category.family;
      li.append(name, family);
      li.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep focus in the search box
        choose(category.code);
      });
      list.appendChild(li);
    });
    list.hidden = false;
    search.setAttribute("aria-expanded", "true");
    if (active >= 0) {
      search.setAttribute("aria-activedescendant", "category-option-" + matches[active].code);
      var item = list.children[active];
      if (item && item.scrollIntoView) item.scrollIntoView({ block: "nearest" });
    } else {
      search.removeAttribute("aria-activedescendant");
    }
  }

  function closeList() {
    list.hidden = true;
    search.setAttribute("aria-expanded", "false");
    search.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function filter() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    matches = categories.filter(function (category) {
      return words.every(function (word) { return category.haystack.indexOf(word) >= 0; });
    });
    active = matches.length ? 0 : -1;
    renderList();
  }

  function choose(code) {
    var category = byCode(code);
    if (!category) return;
    var changed = select.value !== code;
    select.value = code;
    search.value = category.name;
    closeList();
    showChosen();
    if (changed) select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  search.addEventListener("input", filter);
  search.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) filter();
      if (!matches.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + matches.length) % matches.length;
      renderList();
    } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
      if (!list.hidden && active >= 0) {
        event.preventDefault(); // choosing a category never submits the form
        choose(matches[active].code);
      }
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        event.preventDefault();
        closeList();
      }
    }
  });
  search.addEventListener("blur", function () {
    closeList();
    var category = byCode(select.value);
    if (!search.value.trim()) {
      if (select.value) {
        select.value = "";
        showChosen();
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else if (category) {
      search.value = category.name; // what was typed and not chosen gives way to the choice
    }
  });
  if (select.value) {
    search.value = byCode(select.value) ? byCode(select.value).name : "";
    showChosen();
  }

  // ------------------------------------------------------------------ location: map and coordinates

  function number(input) {
    var text = input.value.trim();
    if (!text) return null;
    var value = Number(text);
    return Number.isFinite(value) ? value : null;
  }

  var marker = null;
  var map = null;
  if (window.L) {
    var tileUrl = root.dataset.tileUrl;
    var centre = JSON.parse(root.dataset.centre || "[52.8, -2.05]");
    map = L.map("call-map", { attributionControl: Boolean(tileUrl), keyboard: false }).setView(centre, 11);
    if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
    else root.classList.add("no-tiles");
    L.control.scale({ imperial: false }).addTo(map);
    map.on("click", function (event) {
      latInput.value = event.latlng.lat.toFixed(5);
      lonInput.value = event.latlng.lng.toFixed(5);
      placeMarker(false);
      latInput.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function placeMarker(centre) {
    if (!map) return;
    var lat = number(latInput);
    var lon = number(lonInput);
    if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      if (marker) {
        marker.remove();
        marker = null;
      }
      return;
    }
    if (!marker) {
      marker = L.circleMarker([lat, lon], { radius: 9, color: "#0b0c0c", weight: 2, fillColor: "#ffdd00", fillOpacity: 1 });
      marker.addTo(map);
    } else {
      marker.setLatLng([lat, lon]);
    }
    if (centre) map.panTo([lat, lon]);
  }

  // As the coordinates are typed (the check waits for a pause), and when they are left.
  [latInput, lonInput].forEach(function (input) {
    input.addEventListener("input", function () {
      placeMarker(false);
      checkDuplicates();
    });
    input.addEventListener("change", function () {
      placeMarker(true);
      checkDuplicates();
    });
  });
  placeMarker(true);

  // ------------------------------------------------------------------ submitting

  var submitted = false;
  form.addEventListener("submit", function (event) {
    if (submitted) {
      event.preventDefault(); // the idempotency key makes a second request harmless; this spares it
      return;
    }
    submitted = true;
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    }, 0);
  });
  // Coming back to the page (the browser's back button) makes the form usable again.
  window.addEventListener("pageshow", function () {
    submitted = false;
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = false; });
  });

  // Ctrl+Enter creates the incident. A plain Enter in a one-line box moves to the next
  // field instead of sending a half-taken call.
  form.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.defaultPrevented) return;
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      form.requestSubmit(form.querySelector("[data-testid=create-incident]"));
      return;
    }
    var target = event.target;
    if (target.tagName !== "INPUT" || /^(checkbox|radio|submit|button)$/.test(target.type)) return;
    event.preventDefault();
    var fields = Array.from(form.querySelectorAll("input, select, textarea, button")).filter(function (element) {
      return !element.disabled && element.type !== "hidden" && element.tabIndex >= 0 && element.offsetParent !== null;
    });
    var next = fields[fields.indexOf(target) + 1];
    if (next) next.focus();
  });

  // The error summary's link to the category leads to the search box that replaced the list.
  document.querySelectorAll('.error-summary a[href="#category"]').forEach(function (link) {
    link.setAttribute("href", "#category-search");
  });

  var firstError = form.querySelector("[aria-invalid=true]");
  if (firstError && firstError.id === "category") search.focus();
  else if (firstError) firstError.focus();
  else search.focus();
  if (select.value && latInput.value && lonInput.value) checkDuplicates();
})();
