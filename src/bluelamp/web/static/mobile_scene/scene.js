// A crime recorded at the scene (/m/crime): the offence picker, finding or adding the
// victim and witness (likely matches shown), the phone's position, photos checked before
// they are sent, the signature pad, and sending the form through the app's outbox
// (BluelampQueue: offline it waits on the phone with its Idempotency-Key). Photos are sent
// once the crime is recorded, while online. What is typed is kept on the phone as a draft
// until the crime is recorded or handed to the outbox, so nothing typed is lost.
(function () {
  "use strict";

  const root = document.querySelector("[data-scene]");
  if (!root) return;
  const form = document.getElementById("scene-form");
  const message = root.querySelector("[data-scene-message]");
  const done = root.querySelector("[data-done]");
  const offences = JSON.parse(document.getElementById("scene-offences").textContent);
  const searchReason = root.dataset.searchReason;
  const maxPhotoBytes = Number(root.dataset.maxPhotoBytes);
  const maxPhotoMb = root.dataset.maxPhotoMb;
  const userMeta = document.querySelector('meta[name="bluelamp-user"]');
  const incidentInput = form.querySelector("[data-incident-id]");
  // One draft per officer and per incident (or none): a draft never moves to another incident.
  const DRAFT = "bluelamp-scene-draft:" + (userMeta ? userMeta.content : "") + ":" + (incidentInput ? incidentInput.value : "direct");

  const COMMON_SHOWN = 8; // the most common offences listed before anything is typed
  let crime = null; // the recorded crime, as the API answered
  let clientRef = null; // marks this page's submission in the outbox
  const photos = [];

  // ---------------------------------------------------------------- small helpers

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function make(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function say(text, kind) {
    message.textContent = text || "";
    message.dataset.kind = kind || "";
    message.hidden = !text;
    if (text) message.scrollIntoView({ block: "nearest" });
  }

  function personLabel(person) {
    const name = [String(person.family_name || "").toUpperCase(), person.given_names].filter(Boolean).join(", ");
    return (name || "(no name)") + (person.dob ? " (" + person.dob + ")" : "");
  }

  function setPath(target, path, value) {
    const parts = path.split(".");
    let here = target;
    parts.forEach((part, index) => {
      const last = index === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[index + 1]);
      if (last) here[part] = value;
      else {
        if (here[part] === undefined) here[part] = nextIsIndex ? [] : {};
        here = here[part];
      }
    });
  }

  function getPath(target, path) {
    return path.split(".").reduce((here, part) => (here === undefined || here === null ? undefined : here[part]), target);
  }

  // ---------------------------------------------------------------- sending

  // The app's outbox when the shell provides it; otherwise straight to the server.
  async function send(request) {
    if (window.BluelampQueue && typeof window.BluelampQueue.send === "function") {
      return window.BluelampQueue.send(request);
    }
    try {
      const response = await fetch(request.url, {
        method: request.method,
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": csrf(),
          "Idempotency-Key": request.key || newKey(),
        },
        body: JSON.stringify(request.body),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) return { status: "sent", response: body };
      return { status: "refused", problem: body };
    } catch (error) {
      return { status: "refused", problem: { detail: "No connection: nothing was sent. Try again when you are back online." } };
    }
  }

  // ---------------------------------------------------------------- messages next to fields

  function clearErrors(scope) {
    (scope || root).querySelectorAll("[data-error-for]").forEach((slot) => {
      slot.hidden = true;
      slot.textContent = "";
    });
  }

  function slotFor(field) {
    let name = String(field || "").replace(/\[(\d+)\]/g, ".$1");
    while (name) {
      const slot = root.querySelector('[data-error-for="' + CSS.escape(name) + '"]');
      if (slot && !slot.parentElement.closest("[hidden]")) return slot;
      const cut = name.lastIndexOf(".");
      if (cut < 0) break;
      name = name.slice(0, cut);
    }
    return null;
  }

  function showError(field, text) {
    const slot = slotFor(field);
    if (!slot) return false;
    text = String(text || "");
    text = text.charAt(0).toUpperCase() + text.slice(1);
    slot.textContent = slot.hidden || !slot.textContent ? text : slot.textContent + " " + text;
    slot.hidden = false;
    return true;
  }

  function showProblem(problem, prefix) {
    prefix = prefix || "";
    let placed = 0;
    for (const item of problem.errors || []) if (showError(prefix + item.field, item.message)) placed += 1;
    if (problem.code === "person.likely_duplicates" && problem.matches) {
      showMatches(prefix + (problem.field || ""), problem.matches);
      placed += 1;
    }
    say(placed ? "Not recorded yet: see the messages below. Nothing you typed is lost." : problem.detail || "Not recorded.", "refused");
    const first = root.querySelector("[data-error-for]:not([hidden]), [data-matches]:not([hidden])");
    if (first) first.scrollIntoView({ block: "center" });
  }

  // ---------------------------------------------------------------- the offence picker

  const offenceCode = form.querySelector("[data-offence-code]");
  const offencePicker = form.querySelector("[data-offence-picker]");
  const offenceChosen = form.querySelector("[data-offence-chosen]");
  const offenceLabel = form.querySelector("[data-offence-label]");
  const offenceSearch = form.querySelector("[data-offence-search]");
  const offenceList = form.querySelector("[data-offence-list]");
  const offenceHeading = form.querySelector("[data-offence-heading]");

  function renderOffences() {
    const words = offenceSearch.value.toLowerCase().split(/\s+/).filter(Boolean);
    let found;
    if (!words.length) found = offences.filter((o) => o.common).slice(0, COMMON_SHOWN);
    else {
      const query = words.join(" ");
      found = offences.filter((o) => {
        const text = (o.code + " " + o.description + " " + o.group).toLowerCase();
        return words.every((w) => text.includes(w));
      });
      found.sort((a, b) => (b.code.toLowerCase() === query) - (a.code.toLowerCase() === query) || b.common - a.common);
      found = found.slice(0, 40);
    }
    offenceHeading.textContent = !words.length
      ? "Common at a scene (or type to search them all):"
      : found.length
        ? "Matching offences:"
        : "No offence matches: try other words, or the Home Office code.";
    offenceList.replaceChildren(
      ...found.map((o) =>
        make(
          "li",
          {},
          make(
            "button",
            { type: "button", "data-offence": o.code },
            make("span", { className: "sc-code", text: o.code }),
            " " + o.description,
            o.group && o.group.toLowerCase() !== o.description.toLowerCase() ? make("span", { className: "sc-sub", text: o.group }) : null
          )
        )
      )
    );
  }

  function chooseOffence(code) {
    const offence = offences.find((o) => o.code === code);
    if (!offence) return;
    offenceCode.value = offence.code;
    offenceLabel.textContent = offence.description + " (" + offence.code + ")";
    offenceChosen.hidden = false;
    offencePicker.hidden = true;
    const suggested = form.querySelector("[data-offence-suggested]");
    if (suggested) suggested.hidden = true;
    clearErrors(form.querySelector('[data-part="offence"]'));
    saveDraft();
  }

  offenceSearch.addEventListener("input", renderOffences);
  offenceSearch.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const first = offenceList.querySelector("button");
    if (first) chooseOffence(first.dataset.offence);
  });
  offenceList.addEventListener("click", (event) => {
    const button = event.target.closest("[data-offence]");
    if (button) chooseOffence(button.dataset.offence);
  });
  form.querySelector('[data-action="change-offence"]').addEventListener("click", () => {
    offencePicker.hidden = false;
    offenceChosen.hidden = true;
    offenceCode.value = "";
    offenceSearch.focus();
    saveDraft();
  });

  // ---------------------------------------------------------------- persons: find, new, none

  const people = {};

  function setupPerson(box) {
    const part = box.dataset.person;
    const radios = Array.from(box.querySelectorAll('input[name="mode-' + part + '"]'));
    const personId = box.querySelector("[data-person-id]");
    const chosen = box.querySelector("[data-chosen]");
    const chosenLabel = box.querySelector("[data-chosen-label]");
    const finder = box.querySelector("[data-find]");
    const results = box.querySelector("[data-results]");
    const status = box.querySelector("[data-find-status]");
    const matches = box.querySelector("[data-matches]");
    const confirmNew = box.querySelector("[data-confirm-new]");

    function mode() {
      const checked = radios.find((r) => r.checked);
      return checked ? checked.value : "none";
    }
    function apply() {
      box.querySelectorAll("[data-panel]").forEach((panel) => {
        panel.hidden = panel.dataset.panel !== mode();
      });
    }
    function setMode(value) {
      radios.forEach((r) => {
        r.checked = r.value === value;
      });
      apply();
    }
    function choose(id, label) {
      personId.value = id;
      personId.dataset.label = label;
      chosenLabel.textContent = label;
      chosen.hidden = false;
      finder.hidden = true;
      matches.hidden = true;
      setMode("find");
      clearErrors(box);
      saveDraft();
    }
    function unchoose() {
      personId.value = "";
      personId.dataset.label = "";
      chosen.hidden = true;
      finder.hidden = false;
      saveDraft();
    }
    async function search() {
      const name = box.querySelector("[data-find-name]").value.trim();
      const dob = box.querySelector("[data-find-dob]").value.trim();
      results.replaceChildren();
      if (!name) {
        status.textContent = "Type a name first.";
        return;
      }
      status.textContent = "Searching…";
      const query = new URLSearchParams({ name: name, limit: "8" });
      if (dob) query.set("dob", dob);
      try {
        const response = await fetch("/api/v1/search/persons?" + query, {
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-Bluelamp-Reason": searchReason },
        });
        const body = await response.json();
        if (!response.ok) {
          status.textContent = body.detail || "The search was refused.";
          return;
        }
        status.textContent = body.hits.length
          ? "Tap the person:"
          : "Nobody found: check the spelling, or add them as a new person.";
        results.replaceChildren(
          ...body.hits.map((hit) =>
            make("li", {}, make("button", { type: "button", "data-id": hit.id, "data-label": personLabel(hit), text: personLabel(hit) }))
          )
        );
      } catch (error) {
        status.textContent = "Searching needs a connection: add them as a new person instead.";
      }
    }

    radios.forEach((r) =>
      r.addEventListener("change", () => {
        apply();
        matches.hidden = true;
        saveDraft();
      })
    );
    box.querySelector('[data-action="find"]').addEventListener("click", search);
    box.querySelector("[data-find-name]").addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        search();
      }
    });
    results.addEventListener("click", (event) => {
      const button = event.target.closest("[data-id]");
      if (button) choose(button.dataset.id, button.dataset.label);
    });
    box.querySelector('[data-action="unchoose"]').addEventListener("click", unchoose);
    box.querySelectorAll("[data-panel='new'] input, [data-panel='new'] select").forEach((input) =>
      input.addEventListener("input", () => {
        if (confirmNew) confirmNew.value = "";
      })
    );

    people[part] = {
      box: box,
      mode: mode,
      setMode: setMode,
      choose: choose,
      matches: matches,
      confirmNew: confirmNew,
    };
    apply();
  }

  root.querySelectorAll("[data-person]").forEach(setupPerson);

  function showMatches(part, matches) {
    const person = people[part];
    if (!person) return;
    const list = make("ul", { className: "sc-results" });
    for (const match of matches) {
      const label = personLabel(match);
      list.append(make("li", {}, make("button", { type: "button", "data-id": match.id, text: "Use " + label })));
    }
    const fresh = make("button", { type: "button", className: "m-button wide", text: "None of these: save as a new person" });
    person.matches.replaceChildren(make("p", { text: "Already recorded? Check these before saving a new person:" }), list, fresh);
    person.matches.hidden = false;
    list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-id]");
      const match = button && matches.find((m) => m.id === button.dataset.id);
      if (match) person.choose(match.id, personLabel(match));
    });
    fresh.addEventListener("click", () => {
      person.confirmNew.value = "true";
      person.matches.hidden = true;
      form.requestSubmit();
    });
  }

  // ---------------------------------------------------------------- where

  const position = form.querySelector("[data-position]");
  function field(name) {
    return form.querySelector('[name="' + name + '"]');
  }
  form.querySelector('[data-action="locate"]').addEventListener("click", () => {
    if (!navigator.geolocation) {
      position.textContent = "This phone cannot give its position: type the address.";
      return;
    }
    position.textContent = "Finding your position…";
    navigator.geolocation.getCurrentPosition(
      (found) => {
        const c = found.coords;
        field("place.lat").value = c.latitude.toFixed(6);
        field("place.lon").value = c.longitude.toFixed(6);
        field("place.accuracy_m").value = Math.round(c.accuracy);
        position.textContent =
          "Your position: " + c.latitude.toFixed(5) + ", " + c.longitude.toFixed(5) + " (within " + Math.round(c.accuracy) + " m)";
        saveDraft();
      },
      () => {
        position.textContent = "Could not get your position: type the address.";
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  });

  const fromIncident = form.querySelector("[data-from-incident]");
  if (fromIncident) {
    fromIncident.addEventListener("change", () => {
      form.querySelector("[data-incident-id]").disabled = !fromIncident.checked;
      saveDraft();
    });
  }

  // ---------------------------------------------------------------- suspect and statement toggles

  const suspectToggle = form.querySelector("[data-suspect-toggle]");
  const suspectPart = form.querySelector("[data-suspect]");
  suspectToggle.addEventListener("change", () => {
    suspectPart.hidden = !suspectToggle.checked;
    saveDraft();
  });
  const statementToggle = form.querySelector("[data-statement-toggle]");
  const statementPart = form.querySelector("[data-statement]");
  statementToggle.addEventListener("change", () => {
    statementPart.hidden = !statementToggle.checked;
    if (statementToggle.checked) pad.fit();
    saveDraft();
  });

  // ---------------------------------------------------------------- the signature pad

  const pad = (function () {
    const canvas = form.querySelector("[data-signature]");
    const context = canvas.getContext("2d");
    let drawing = false;
    let last = null;
    let drawn = false;
    let signedAt = null;
    let scale = 1;

    function fit() {
      const box = canvas.getBoundingClientRect();
      if (!box.width) return;
      const keep = drawn ? canvas.toDataURL("image/png") : null;
      scale = Math.max(1, Math.min(window.devicePixelRatio || 1, 3));
      const width = Math.round(box.width * scale);
      const height = Math.round(box.height * scale);
      if (canvas.width === width && canvas.height === height) return;
      canvas.width = width;
      canvas.height = height;
      if (keep) restore(keep);
    }
    function point(event) {
      const box = canvas.getBoundingClientRect();
      return { x: (event.clientX - box.left) * (canvas.width / box.width), y: (event.clientY - box.top) * (canvas.height / box.height) };
    }
    function stroke(from, to) {
      context.strokeStyle = "#0b0c0c";
      context.lineWidth = 2.6 * scale;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.beginPath();
      context.moveTo(from.x, from.y);
      context.lineTo(to.x, to.y);
      context.stroke();
    }
    canvas.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      fit();
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      last = point(event);
      stroke(last, { x: last.x + 0.1, y: last.y + 0.1 });
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      for (const each of events.length ? events : [event]) {
        const next = point(each);
        stroke(last, next);
        last = next;
      }
    });
    function end() {
      if (!drawing) return;
      drawing = false;
      drawn = true;
      signedAt = new Date().toISOString();
      clearErrors(form.querySelector('[data-part="statement"]'));
      saveDraft();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    function clear() {
      context.clearRect(0, 0, canvas.width, canvas.height);
      drawn = false;
      signedAt = null;
      saveDraft();
    }
    function restore(dataUrl, when) {
      const image = new Image();
      image.onload = () => context.drawImage(image, 0, 0, canvas.width, canvas.height);
      image.src = dataUrl;
      drawn = true;
      if (when) signedAt = when;
    }
    form.querySelector('[data-action="clear-signature"]').addEventListener("click", clear);
    window.addEventListener("resize", fit);
    return {
      fit: fit,
      clear: clear,
      restore: restore,
      get drawn() {
        return drawn;
      },
      get signedAt() {
        return signedAt;
      },
      data: () => (drawn ? canvas.toDataURL("image/png") : ""),
    };
  })();

  // ---------------------------------------------------------------- what the form says

  function collect(scopeSelector) {
    const scope = scopeSelector ? form.querySelector(scopeSelector) : form;
    const body = {};
    for (const input of scope.querySelectorAll("[name]")) {
      if (input.name.startsWith("mode-") || input.disabled || input.closest("[hidden]")) continue;
      if (input.type === "file" || input.type === "radio" || input.type === "checkbox") continue;
      const raw = input.value.trim();
      if (raw === "") continue;
      let value = raw;
      if (input.hasAttribute("data-number")) value = Number(raw);
      else if (input.hasAttribute("data-confirm-new")) value = raw === "true";
      setPath(body, input.name, value);
    }
    for (const [part, person] of Object.entries(people)) {
      if (person.box.closest("[hidden]") || !scope.contains(person.box)) continue;
      if (person.mode() !== "none" && getPath(body, part) === undefined) setPath(body, part, {});
    }
    if (!scopeSelector && suspectToggle.checked && !body.suspects) body.suspects = [{}];
    if (statementToggle.checked && !statementPart.hidden) {
      if (!body.statement) body.statement = {};
      body.statement.signature = pad.data();
      if (pad.signedAt) body.statement.signed_at = pad.signedAt;
    }
    if (body.suspects) body.suspects = body.suspects.filter(Boolean);
    return body;
  }

  function localProblems(body) {
    const problems = [];
    if (!body.offence_code) problems.push({ field: "offence_code", message: "choose the offence" });
    if (body.statement) {
      if (!String(body.statement.text || "").trim()) problems.push({ field: "statement.text", message: "write down what the witness says" });
      if (!body.statement.signature) problems.push({ field: "statement.signature", message: "the witness must sign on the screen" });
    }
    return problems;
  }

  // ---------------------------------------------------------------- recording

  const submit = form.querySelector('[type="submit"]');

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (crime) return;
    clearErrors();
    say("");
    const body = collect();
    const problems = localProblems(body);
    if (problems.length) {
      showProblem({ errors: problems });
      return;
    }
    // One Idempotency-Key for this crime, whatever the retries: sent twice, it is recorded once.
    clientRef = clientRef || newKey();
    saveDraft();
    submit.disabled = true;
    submit.textContent = "Recording…";
    const result = await send({ method: "POST", url: "/api/v1/scene/crimes", body: body, key: clientRef, label: "Crime at the scene" });
    submit.disabled = false;
    submit.textContent = "Record crime";
    if (result.status === "sent") recorded(result.response);
    else if (result.status === "queued") {
      forgetDraft(); // the outbox keeps it now
      say(
        "No connection: the crime is saved on this phone and will be sent when you are back online. " +
          "Photos need a connection: keep this page open and they are sent once the crime is.",
        "queued"
      );
      submit.disabled = true;
      submit.textContent = "Waiting to send…";
      lockParts(true);
    } else showProblem(result.problem || {});
  });

  function ours(event) {
    const item = event.detail && event.detail.item;
    return !crime && clientRef && item && item.key === clientRef;
  }
  window.addEventListener("bluelamp:sent", (event) => {
    if (ours(event)) recorded(event.detail.response);
  });
  window.addEventListener("bluelamp:refused", (event) => {
    if (!ours(event)) return;
    lockParts(false);
    submit.disabled = false;
    submit.textContent = "Record crime";
    writeDraft();
    showProblem(event.detail.problem || {});
  });

  // While a crime waits in the outbox its parts cannot change (what is sent is what was queued).
  function lockParts(locked) {
    form.querySelectorAll("fieldset.sc-part").forEach((part) => {
      if (part.dataset.part !== "photos") part.disabled = locked;
    });
  }

  function recorded(answer) {
    crime = answer;
    forgetDraft();
    lockParts(false);
    root.querySelector("[data-draft-notice]").hidden = true;
    say("");
    clearErrors();
    done.hidden = false;
    done.querySelector("[data-done-reference]").textContent = answer.reference;
    const parts = [answer.offence + " (" + answer.offence_code + ")"];
    if (answer.victim) parts.push("victim " + answer.victim);
    if (answer.statement) parts.push("witness statement signed and saved");
    if (answer.recorded_late) parts.push("recorded after the NCRS 24 hours");
    done.querySelector("[data-done-detail]").textContent = parts.join(" · ");
    for (const part of ["incident", "offence", "what", "place", "victim", "suspect"]) {
      const node = form.querySelector('[data-part="' + part + '"]');
      if (node) node.hidden = true;
    }
    submit.hidden = true;
    form.querySelector("[data-photo-note]").textContent =
      "Photos you add now are sent to " + answer.reference + " at once. They need a connection.";
    if (answer.statement) form.querySelector('[data-part="statement"]').hidden = true;
    else form.querySelector('[data-action="save-statement"]').hidden = false;
    done.scrollIntoView({ block: "start" });
    sendPhotos();
  }

  // ---------------------------------------------------------------- photos

  const photoInput = form.querySelector("[data-photo-input]");
  const photoList = form.querySelector("[data-photos]");
  const sendPhotosButton = form.querySelector('[data-action="send-photos"]');

  async function photoProblem(file) {
    if (file.size > maxPhotoBytes) {
      return "is too large (" + (file.size / 1048576).toFixed(1) + " MB): the most is " + maxPhotoMb + " MB";
    }
    const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
    const ascii = (from, to) => String.fromCharCode(...head.slice(from, to));
    const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
    const png = head[0] === 0x89 && ascii(1, 4) === "PNG";
    const webp = ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP";
    return jpeg || png || webp ? null : "is not a photo: use a JPEG, PNG or WebP picture";
  }

  function renderPhoto(item) {
    item.state = item.state || "ready";
    const caption = make("input", { type: "text", placeholder: "What it shows (optional)", "aria-label": "What " + item.file.name + " shows", maxlength: "300" });
    caption.value = item.caption || "";
    caption.addEventListener("input", () => {
      item.caption = caption.value;
    });
    const remove = make("button", { type: "button", className: "m-button sc-photo-remove", text: "Remove" });
    remove.addEventListener("click", () => {
      photos.splice(photos.indexOf(item), 1);
      URL.revokeObjectURL(item.url);
      item.li.remove();
    });
    item.stateNode = make("p", { className: "sc-photo-state", role: "status" });
    item.li = make(
      "li",
      { className: "sc-photo", "data-state": item.state },
      make("img", { src: item.url, alt: "" }),
      make("div", {}, make("p", { className: "sc-photo-name", text: item.file.name }), caption, item.stateNode, remove)
    );
    item.caption_input = caption;
    item.remove = remove;
    photoList.append(item.li);
    setPhotoState(item, item.state, crime ? "Sending…" : "Sent once the crime is recorded.");
  }

  function setPhotoState(item, state, text) {
    item.state = state;
    item.li.dataset.state = state;
    item.stateNode.textContent = text;
    item.remove.hidden = state === "sent" || state === "sending";
    item.caption_input.disabled = state === "sent" || state === "sending";
  }

  photoInput.addEventListener("change", async () => {
    const slot = form.querySelector('[data-error-for="photo"]');
    slot.hidden = true;
    slot.textContent = "";
    const refused = [];
    for (const file of Array.from(photoInput.files)) {
      const problem = await photoProblem(file);
      if (problem) {
        refused.push(file.name + " " + problem + ".");
        continue;
      }
      const item = { file: file, url: URL.createObjectURL(file), key: newKey() };
      photos.push(item);
      renderPhoto(item);
    }
    photoInput.value = "";
    if (refused.length) {
      slot.textContent = refused.join(" ");
      slot.hidden = false;
    }
    if (crime) sendPhotos();
  });

  let sending = false;
  async function sendPhotos() {
    if (!crime || sending) return;
    sending = true;
    sendPhotosButton.hidden = true;
    const slot = form.querySelector('[data-error-for="photo"]');
    const lat = field("place.lat").value;
    const lon = field("place.lon").value;
    for (const item of photos) {
      if (item.state === "sent" || item.state === "refused") continue;
      setPhotoState(item, "sending", "Sending…");
      const data = new FormData();
      data.append("photo", item.file, item.file.name);
      if (item.caption) data.append("caption", item.caption);
      if (lat && lon) {
        data.append("lat", lat);
        data.append("lon", lon);
      }
      try {
        const response = await fetch(crime.photos_url, {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": csrf(), "Idempotency-Key": item.key },
          body: data,
        });
        const body = await response.json().catch(() => ({}));
        if (response.ok) setPhotoState(item, "sent", "Sent · SHA-256 " + body.sha256.slice(0, 12) + "…");
        else if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
          const why = (body.errors && body.errors[0] && body.errors[0].message) || body.detail || "refused";
          setPhotoState(item, "refused", "Not sent: " + why);
          slot.textContent = (slot.hidden ? "" : slot.textContent + " ") + item.file.name + ": " + why + ".";
          slot.hidden = false;
        } else setPhotoState(item, "waiting", "Not sent yet: the server is busy. It is tried again.");
      } catch (error) {
        setPhotoState(item, "waiting", "Not sent yet: no connection. Sent when you are back online.");
      }
    }
    sending = false;
    if (photos.some((p) => p.state === "waiting")) sendPhotosButton.hidden = false;
  }
  sendPhotosButton.addEventListener("click", sendPhotos);
  window.addEventListener("online", () => {
    if (crime) sendPhotos();
  });

  // ---------------------------------------------------------------- a statement after the crime

  form.querySelector('[data-action="save-statement"]').addEventListener("click", async () => {
    if (!crime) return;
    const part = form.querySelector('[data-part="statement"]');
    clearErrors(part);
    say("");
    const body = collect('[data-part="statement"]');
    const problems = localProblems({ offence_code: "-", statement: body.statement || { signature: "" } });
    if (problems.length) {
      showProblem({ errors: problems });
      return;
    }
    const result = await send({
      method: "POST",
      url: "/api/v1/crimes/" + encodeURIComponent(crime.id) + "/statements",
      body: body.statement,
      label: "Witness statement",
    });
    const settled = (kind, text) => {
      statementToggle.closest("label").hidden = true;
      statementPart.replaceChildren(make("p", { className: "m-message", "data-kind": kind, "data-testid": "scene-statement-saved", text: text }));
    };
    if (result.status === "sent") settled("sent", "Witness statement signed and saved (locked: it cannot be changed).");
    else if (result.status === "queued") settled("queued", "The statement is saved on this phone and will be sent when you are back online.");
    else showProblem(result.problem || {}, "statement.");
  });

  // ---------------------------------------------------------------- the draft kept on the phone

  let draftTimer = null;
  function saveDraft() {
    if (crime) return;
    clearTimeout(draftTimer);
    draftTimer = setTimeout(writeDraft, 300);
  }

  function writeDraft() {
    const values = {};
    form.querySelectorAll("[name]").forEach((input) => {
      if (input.type === "file" || input.type === "radio" || input.type === "checkbox") return;
      values[input.name] = input.value;
    });
    const draft = {
      values: values,
      labels: Object.fromEntries(Object.keys(people).map((p) => [p, (people[p].box.querySelector("[data-person-id]").dataset.label || "")])),
      modes: Object.fromEntries(Object.keys(people).map((p) => [p, people[p].mode()])),
      offence: offenceCode.value,
      suspect: suspectToggle.checked,
      statement: statementToggle.checked,
      fromIncident: fromIncident ? fromIncident.checked : null,
      signature: pad.data(),
      signedAt: pad.signedAt,
      clientRef: clientRef,
    };
    try {
      window.localStorage.setItem(DRAFT, JSON.stringify(draft));
    } catch (error) {
      // storage full or blocked: the form itself still holds everything
    }
  }

  function forgetDraft() {
    clearTimeout(draftTimer);
    try {
      window.localStorage.removeItem(DRAFT);
    } catch (error) {
      // nothing kept
    }
  }

  function restoreDraft() {
    let draft = null;
    try {
      draft = JSON.parse(window.localStorage.getItem(DRAFT) || "null");
    } catch (error) {
      draft = null;
    }
    if (!draft || !draft.values) return;
    const typed = Object.entries(draft.values).some(([name, value]) => value && !name.startsWith("place.l") && name !== "incident_id");
    if (!typed && !draft.signature) return;
    for (const [name, value] of Object.entries(draft.values)) {
      const input = field(name);
      if (input && input.type !== "file") input.value = value;
    }
    for (const [part, mode] of Object.entries(draft.modes || {})) if (people[part]) people[part].setMode(mode);
    for (const [part, label] of Object.entries(draft.labels || {})) {
      const id = draft.values[part + ".person_id"];
      if (people[part] && id) people[part].choose(id, label || id);
    }
    if (draft.offence) chooseOffence(draft.offence);
    suspectToggle.checked = !!draft.suspect;
    suspectPart.hidden = !draft.suspect;
    statementToggle.checked = !!draft.statement;
    statementPart.hidden = !draft.statement;
    if (fromIncident && draft.fromIncident !== null) {
      fromIncident.checked = draft.fromIncident;
      form.querySelector("[data-incident-id]").disabled = !draft.fromIncident;
    }
    if (draft.statement) {
      pad.fit();
      if (draft.signature) pad.restore(draft.signature, draft.signedAt);
    }
    clientRef = draft.clientRef || null;
    root.querySelector("[data-draft-notice]").hidden = false;
  }

  root.querySelector('[data-action="discard-draft"]').addEventListener("click", () => {
    forgetDraft();
    window.location.reload();
  });
  form.addEventListener("input", (event) => {
    if (event.target.closest("[data-find]") || event.target === offenceSearch) return;
    saveDraft();
  });

  renderOffences();
  restoreDraft();
})();
