// The pocket notebook page (/m/notebook).
//
// The list comes from GET /api/v1/notebook/entries, which the app's service worker keeps
// (network first), so the notebook stays readable offline. Every change goes through the
// outbox (BluelampQueue.send, static/mobile/queue.js): sent now, or kept on the phone and
// sent in order when the connection returns, or refused with the server's words, in which
// case what the officer typed stays in the form.
(function () {
  "use strict";

  var root = document.querySelector("[data-notebook]");
  if (!root) return;

  var API = "/api/v1/notebook/entries";
  var ZONE = "Europe/London";
  var EMPTY = root.dataset.emptyMessage;
  var MAX_PHOTO = Number(root.dataset.maxPhotoBytes);
  var TYPES = ["image/jpeg", "image/png", "image/webp"];

  var compose = root.querySelector("[data-testid='notebook-compose']");
  var form = root.querySelector("[data-compose]");
  var textarea = root.querySelector("[data-text]");
  var locationBox = root.querySelector("[data-location]");
  var photoInput = root.querySelector("[data-photo]");
  var preview = root.querySelector("[data-photo-preview]");
  var message = root.querySelector("[data-compose-message]");
  var composeTitle = root.querySelector("[data-compose-title]");
  var mode = root.querySelector("[data-compose-mode]");
  var modeWhat = root.querySelector("[data-compose-what]");
  var modeQuote = root.querySelector("[data-compose-quote]");
  var signButton = root.querySelector("[data-sign]");
  var saveButton = root.querySelector("[data-save]");
  var cancelButton = root.querySelector("[data-cancel]");
  var listState = root.querySelector("[data-list-state]");
  var owner = root.querySelector("[data-owner]");
  var list = root.querySelector("[data-entries]");
  var waitingList = root.querySelector("[data-waiting]");
  var template = root.querySelector("[data-entry-template]");

  // What the form is writing: a new entry, more of a draft, or a correction of a signed entry.
  var target = { kind: "new", entry: null };
  var previewUrl = null;
  var busy = false;

  // ------------------------------------------------------------------ words and times

  var dayTime = new Intl.DateTimeFormat("en-GB", {
    timeZone: ZONE, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  var timeOnly = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
  var dayOnly = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, day: "numeric", month: "short" });

  function when(iso, reference) {
    if (!iso) return "";
    var moment = new Date(iso);
    if (reference && dayOnly.format(moment) === dayOnly.format(new Date(reference))) return timeOnly.format(moment);
    return dayTime.format(moment);
  }

  function minutesBetween(earlier, later) {
    return Math.round((new Date(later) - new Date(earlier)) / 60000);
  }

  function label(entry) {
    return entry.seq ? "Entry " + entry.seq : "Draft";
  }

  function named(entry) {  // mid-sentence: "entry 7", "a draft"
    return entry.seq ? "entry " + entry.seq : "a draft";
  }

  function say(element, kind, words) {
    element.hidden = !words;
    element.textContent = words || "";
    if (kind) element.dataset.kind = kind; else delete element.dataset.kind;
    if (kind === "refused") element.setAttribute("role", "alert"); else element.setAttribute("role", "status");
    if (words && kind) element.scrollIntoView({ block: "nearest" });
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // ------------------------------------------------------------------ the list

  function load() {
    return fetch(API, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          say(listState, null, answer.body && answer.body.code === "offline"
            ? "No connection, and no copy of the notebook is kept on this phone yet."
            : (answer.body && answer.body.detail) || "The notebook could not be loaded.");
          return;
        }
        render(answer.body);
      })
      .catch(function () {
        say(listState, null, "No connection, and no copy of the notebook is kept on this phone yet.");
      });
  }

  // The first visit may load before the app's service worker controls the page: fetch
  // again through it what the notebook needs offline (the page, its files, the list, photos).
  function keepForOffline(book) {
    var urls = [location.pathname, API];
    document.querySelectorAll('link[href*="/mobile_notebook/"], script[src*="/mobile_notebook/"]').forEach(
      function (element) { urls.push(element.href || element.src); }
    );
    ((book && book.entries) || []).forEach(function (entry) { if (entry.photo) urls.push(entry.photo.url); });
    urls.forEach(function (url) {
      fetch(url, { credentials: "same-origin" }).catch(function () { /* offline: nothing to keep */ });
    });
  }

  var lastBook = null;
  if (navigator.serviceWorker && !navigator.serviceWorker.controller) {
    navigator.serviceWorker.addEventListener("controllerchange", function () { keepForOffline(lastBook); });
  }

  function render(book) {
    lastBook = book;
    var officer = book.officer || {};
    owner.textContent = [officer.rank, officer.collar_number, officer.name].filter(Boolean).join(" ");
    list.textContent = "";
    var entries = book.entries || [];
    entries.forEach(function (entry) { list.appendChild(card(entry)); });
    var span = "written " + dayOnly.format(new Date(book.period_from + "T12:00:00Z")) + " to " +
      dayOnly.format(new Date(book.period_to + "T12:00:00Z"));
    var words = entries.length ? entries.length + (entries.length === 1 ? " entry " : " entries ") + span + ", newest first."
      : "No entries " + span + ".";
    if (book.truncated) words += " Only the newest are shown: use the PDF for the rest.";
    if (navigator.onLine === false) words += " Offline: this is the copy kept on the phone.";
    say(listState, null, words);
  }

  function card(entry) {
    var item = template.content.firstElementChild.cloneNode(true);
    item.dataset.state = entry.signed ? "signed" : "draft";
    item.dataset.entryId = entry.id;
    item.querySelector("[data-seq]").textContent = label(entry);
    item.querySelector("[data-state-label]").textContent = entry.signed ? "✓ Signed" : "Not signed";

    var times = "Written " + when(entry.written_at);
    var late = minutesBetween(entry.written_at, entry.received_at);
    if (late >= 2) times += " · sent " + late + " min later";
    if (entry.signed) times += " · signed " + when(entry.signed_at, entry.written_at);
    item.querySelector("[data-times]").textContent = times;

    item.querySelector("[data-text-shown]").textContent = entry.text || "(nothing written yet)";
    if (!entry.text) item.querySelector("[data-text-shown]").classList.add("m-none");

    if (entry.corrects) {
      var corrects = item.querySelector("[data-corrects]");
      corrects.hidden = false;
      corrects.append("Correction of " + named(entry.corrects) + ": ");
      var quoted = document.createElement("q");
      quoted.textContent = entry.corrects.text;
      corrects.appendChild(quoted);
    }
    if (entry.lat !== null && entry.lat !== undefined) {
      var where = item.querySelector("[data-location-shown]");
      where.hidden = false;
      where.textContent = "Location: " + entry.lat.toFixed(5) + ", " + entry.lon.toFixed(5) +
        (entry.accuracy_m !== null && entry.accuracy_m !== undefined ? " (within " + Math.round(entry.accuracy_m) + " m)" : "");
    }
    if (entry.photo) {
      var figure = item.querySelector("[data-figure]");
      figure.hidden = false;
      var image = item.querySelector("[data-photo-shown]");
      image.src = entry.photo.url;
      image.alt = "Photo of " + named(entry);
      item.querySelector("[data-photo-hash]").textContent = "SHA-256 " + entry.photo.sha256;
    }
    if (entry.corrections && entry.corrections.length) {
      var box = item.querySelector("[data-corrections]");
      box.hidden = false;
      entry.corrections.forEach(function (correction) {
        var line = document.createElement("p");
        line.className = "nb-correction";
        var strong = document.createElement("strong");
        strong.textContent = "Corrected by " + named(correction) + (correction.signed ? "" : " (not signed)") + ": ";
        line.appendChild(strong);
        line.append(correction.text);
        box.appendChild(line);
      });
    }
    var actions = item.querySelector("[data-actions]");
    if (entry.signed) {
      actions.appendChild(button("Correct", "", function () { startCorrection(entry); }));
    } else {
      actions.appendChild(button("Sign", "primary", function (clicked) { signDraft(entry, clicked, item); }));
      actions.appendChild(button("Continue writing", "", function () { continueDraft(entry); }));
    }
    return item;
  }

  function button(words, kind, act) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "m-button" + (kind ? " " + kind : "");
    element.textContent = words;
    element.addEventListener("click", function () { act(element); });
    return element;
  }

  // Changes of this notebook waiting in the outbox: shown on top until they are sent.
  function showWaiting(items) {
    waitingList.textContent = "";
    (items || []).forEach(function (item) {
      if (item.method === "GET" || item.url.indexOf("/api/v1/notebook/") !== 0) return;
      var li = document.createElement("li");
      li.className = "nb-entry";
      li.dataset.state = item.state === "refused" ? "refused" : "waiting";
      var head = document.createElement("header");
      head.className = "nb-entry-head";
      var what = document.createElement("span");
      what.className = "nb-seq";
      what.textContent = item.label || "Notebook";
      var state = document.createElement("span");
      state.className = "nb-state";
      state.textContent = item.state === "refused" ? "✕ Refused" : "⇅ Waiting to send";
      head.append(what, state);
      li.appendChild(head);
      var times = document.createElement("p");
      times.className = "nb-times m-small";
      times.textContent = "Made " + when(item.created_at) +
        (item.state === "refused" && item.problem ? " · " + item.problem.detail : " · kept on this phone");
      li.appendChild(times);
      if (item.body && item.body.text) {
        var words = document.createElement("p");
        words.className = "nb-text";
        words.textContent = item.body.text;
        li.appendChild(words);
      }
      waitingList.appendChild(li);
    });
  }

  // ------------------------------------------------------------------ the form

  function setTarget(kind, entry) {
    target = { kind: kind, entry: entry || null };
    mode.hidden = kind === "new";
    cancelButton.hidden = kind === "new";
    saveButton.hidden = kind === "correct";
    if (kind === "new") {
      composeTitle.textContent = "New entry";
    } else if (kind === "draft") {
      composeTitle.textContent = "Continue the draft";
      modeWhat.textContent = "Not signed yet, written " + when(entry.written_at) + ". You can change it until you sign it.";
      modeQuote.textContent = "";
      modeQuote.hidden = true;
    } else {
      composeTitle.textContent = "Correct " + named(entry);
      modeWhat.textContent = label(entry) + " stays as it was; your correction is a new entry shown with it:";
      modeQuote.textContent = entry.text;
      modeQuote.hidden = false;
    }
  }

  function continueDraft(entry) {
    setTarget("draft", entry);
    textarea.value = entry.text;
    say(message, null, "");
    compose.scrollIntoView({ block: "start" });
    textarea.focus({ preventScroll: true });
  }

  function startCorrection(entry) {
    setTarget("correct", entry);
    textarea.value = "";
    say(message, null, "");
    compose.scrollIntoView({ block: "start" });
    textarea.focus({ preventScroll: true });
  }

  function reset() {
    form.reset();
    clearPreview();
    setTarget("new");
  }

  function clearPreview() {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    preview.hidden = true;
    preview.removeAttribute("src");
  }

  function photoProblem(file) {
    if (TYPES.indexOf(file.type) === -1) {
      return "Only JPEG, PNG or WebP photos can go in the notebook; this file is not one of them.";
    }
    if (file.size > MAX_PHOTO) {
      return "The photo is " + (file.size / 1048576).toFixed(1) + " MB; the most a notebook photo may be is " +
        Math.floor(MAX_PHOTO / 1048576) + " MB. Take it again at a lower resolution.";
    }
    return null;
  }

  photoInput.addEventListener("change", function () {
    clearPreview();
    var file = photoInput.files && photoInput.files[0];
    if (!file) return;
    var problem = photoProblem(file);
    if (problem) {
      say(message, "refused", problem);
      return;
    }
    say(message, null, "");
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
  });

  function readPhoto() {
    var file = photoInput.files && photoInput.files[0];
    if (!file) return Promise.resolve(null);
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(new Error("The photo could not be read: choose it again.")); };
      reader.readAsDataURL(file);
    });
  }

  function position() {
    if (!locationBox.checked) return Promise.resolve(null);
    if (!navigator.geolocation) return Promise.resolve({ missing: true });
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(
        function (found) {
          resolve({ lat: found.coords.latitude, lon: found.coords.longitude, accuracy_m: found.coords.accuracy });
        },
        function () { resolve({ missing: true }); },
        { enableHighAccuracy: true, timeout: 8000, maximumAge: 30000 }
      );
    });
  }

  function write(sign) {
    if (busy) return;
    var text = textarea.value;
    if (sign && !text.trim()) {
      textarea.focus();
      say(message, "refused", EMPTY);
      return;
    }
    var file = photoInput.files && photoInput.files[0];
    if (file && photoProblem(file)) {
      say(message, "refused", photoProblem(file));
      return;
    }
    if (!text.trim() && !file) {
      textarea.focus();
      say(message, "refused", "An empty entry cannot be saved: write something or add a photo.");
      return;
    }
    var writtenAt = new Date().toISOString();
    busy = true;
    signButton.disabled = saveButton.disabled = true;
    say(message, null, sign ? "Signing…" : "Saving…");
    Promise.all([readPhoto(), position()])
      .then(function (found) {
        var body = { text: text, written_at: writtenAt, sign: sign };
        if (sign) body.signed_at = new Date().toISOString();
        if (found[0]) body.photo = found[0];
        var place = found[1];
        if (place && !place.missing) {
          body.lat = place.lat;
          body.lon = place.lon;
          body.accuracy_m = place.accuracy_m;
        }
        var request = { method: "POST", url: API, body: body, label: sign ? "Notebook entry (signed)" : "Notebook draft" };
        if (target.kind === "draft") {
          request.method = "PATCH";
          request.url = API + "/" + target.entry.id;
        } else if (target.kind === "correct") {
          request.url = API + "/" + target.entry.id + "/corrections";
          request.label = "Correction of " + named(target.entry);
        }
        return window.BluelampQueue.send(request).then(function (result) {
          return { result: result, noPlace: place && place.missing };
        });
      })
      .then(function (done) {
        var result = done.result;
        var unplaced = done.noPlace ? " Your location could not be found, so none was added." : "";
        if (result.status === "refused") {
          say(message, "refused", (result.problem && result.problem.detail) || "The server refused it.");
          return;
        }
        reset();
        if (result.status === "queued") {
          say(message, "queued", "Kept on this phone: it will be sent when the connection returns." + unplaced);
          return;
        }
        var entry = result.response || {};
        say(message, "sent", (entry.signed ? "Signed as entry " + entry.seq + "." : "Saved, not signed yet.") + unplaced);
        return load();
      })
      .catch(function (error) {
        say(message, "refused", error && error.message ? error.message : "It could not be sent.");
      })
      .then(function () {
        busy = false;
        signButton.disabled = saveButton.disabled = false;
      });
  }

  function signDraft(entry, clicked, item) {
    if (!entry.text.trim()) {
      continueDraft(entry);
      say(message, "refused", EMPTY);
      return;
    }
    clicked.disabled = true;
    window.BluelampQueue.send({
      method: "POST",
      url: API + "/" + entry.id + "/sign",
      body: { signed_at: new Date().toISOString() },
      label: "Signing of a draft",
    }).then(function (result) {
      if (result.status === "refused") {
        clicked.disabled = false;
        var refusal = document.createElement("p");
        refusal.className = "m-message";
        refusal.dataset.kind = "refused";
        refusal.setAttribute("role", "alert");
        refusal.textContent = (result.problem && result.problem.detail) || "The server refused it.";
        item.appendChild(refusal);
        return;
      }
      if (result.status === "queued") {
        item.querySelector("[data-state-label]").textContent = "⇅ Signing when the connection returns";
        return;
      }
      return load();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    write(true);
  });
  saveButton.addEventListener("click", function () { write(false); });
  cancelButton.addEventListener("click", function () {
    reset();
    say(message, null, "");
  });

  // ------------------------------------------------------------------ the PDF and checking one

  var pdfForm = root.querySelector("[data-pdf]");
  var pdfMessage = root.querySelector("[data-pdf-message]");
  pdfForm.addEventListener("submit", function (event) {
    var from = pdfForm.elements.from.value;
    var to = pdfForm.elements.to.value;
    if (navigator.onLine === false) {
      event.preventDefault();
      say(pdfMessage, "refused", "The PDF needs a connection: try again when you are back online.");
    } else if (!from || !to || from > to) {
      event.preventDefault();
      say(pdfMessage, "refused", "Choose a first day on or before the last day.");
    } else {
      say(pdfMessage, null, "");
    }
  });

  var verifyForm = root.querySelector("[data-verify]");
  var verifyFile = root.querySelector("[data-verify-file]");
  var verifyMessage = root.querySelector("[data-verify-message]");
  verifyForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = verifyFile.files && verifyFile.files[0];
    if (!file) {
      say(verifyMessage, "refused", "Choose the PDF to check.");
      return;
    }
    var data = new FormData();
    data.append("file", file);
    say(verifyMessage, null, "Checking…");
    fetch("/api/v1/notebook/verify", {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer.matches === true) {
          say(verifyMessage, "sent", "It matches: the hash printed on the PDF is the one recomputed from your " +
            "stored entries (" + answer.entries + " entries; SHA-256 " + answer.printed_sha256 + ").");
        } else if (answer.matches === false) {
          say(verifyMessage, "refused", "It does not match. " + answer.problems.join(" "));
        } else {
          say(verifyMessage, "refused", answer.detail || "It could not be checked.");
        }
      })
      .catch(function () { say(verifyMessage, "refused", "Checking a PDF needs a connection."); });
  });

  // ------------------------------------------------------------------ the outbox and the connection

  window.addEventListener("bluelamp:outbox", function (event) { showWaiting(event.detail && event.detail.items); });
  window.addEventListener("bluelamp:sent", function (event) {
    var item = event.detail && event.detail.item;
    if (item && item.url && item.url.indexOf("/api/v1/notebook/") === 0) load();
  });
  window.addEventListener("online", load);

  setTarget("new");
  load();
  if (window.BluelampQueue && window.BluelampQueue.items) window.BluelampQueue.items().then(showWaiting);
})();
