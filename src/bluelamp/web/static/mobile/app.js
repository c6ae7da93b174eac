// The officer app's shell, on every /m page: the colours toggle (remembered on the phone),
// the connection badge, the outbox count, the service worker (installable, readable offline),
// the emergency button (press and hold), and location sharing once the officer agreed to it.
// On the work page (/m): the live feed (a new assignment arrives without reloading, with an
// alert where the browser allows), one-tap status, updates to the log and backup requests,
// all sent through the outbox (queue.js) so that nothing is lost offline.
(function () {
  "use strict";

  var HOLD_MS = 2000;
  var root = document.documentElement;

  function $(selector, scope) { return (scope || document).querySelector(selector); }
  function $all(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (error) {
      // storage blocked: the choice lasts for this page only
    }
  }

  function stored(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (error) {
      return null;
    }
  }

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.content : "";
  }

  function clock(date) {
    return (date || new Date()).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/London" });
  }

  function say(element, text, kind) {
    if (!element) return;
    element.textContent = text;
    element.dataset.kind = kind || "";
    element.hidden = !text;
  }

  function problemText(problem) {
    if (!problem) return "The server refused it.";
    return problem.detail || problem.title || "The server refused it.";
  }

  // ------------------------------------------------------------------ colours

  var THEMES = ["auto", "dark", "light"];
  var THEME_WORDS = { auto: "as the phone is set", dark: "dark", light: "light" };

  function currentTheme() {
    var chosen = stored("bluelamp-theme");
    return chosen === "dark" || chosen === "light" ? chosen : "auto";
  }

  function applyTheme(theme) {
    if (theme === "auto") delete root.dataset.theme;
    else root.dataset.theme = theme;
    var dark = theme === "dark" || (theme === "auto" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
    var colour = $("meta[data-theme-color]");
    if (colour) colour.content = dark ? "#060f26" : "#0b2a6f";
    $all("[data-theme-toggle]").forEach(function (button) {
      var next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
      button.setAttribute("aria-label", "Colours: " + THEME_WORDS[theme] + ". Tap for " + THEME_WORDS[next]);
      button.dataset.theme = theme;
    });
  }

  $all("[data-theme-toggle]").forEach(function (button) {
    button.addEventListener("click", function () {
      var next = THEMES[(THEMES.indexOf(currentTheme()) + 1) % THEMES.length];
      store("bluelamp-theme", next === "auto" ? null : next);
      applyTheme(next);
    });
  });
  applyTheme(currentTheme());

  // ------------------------------------------------------------------ connection and outbox

  var liveState = null;

  function showConnection() {
    var badge = $("[data-connection]");
    if (!badge) return;
    var state = navigator.onLine === false ? "offline" : liveState === "live" ? "live" : "online";
    badge.dataset.state = state;
    badge.textContent = state === "offline" ? "Offline" : state === "live" ? "Live" : "Online";
  }

  window.addEventListener("online", showConnection);
  window.addEventListener("offline", showConnection);
  showConnection();

  var outboxWaiting = 0;

  window.addEventListener("bluelamp:outbox", function (event) {
    var detail = event.detail || {};
    outboxWaiting = detail.waiting || 0;
    var link = $("[data-testid=outbox]");
    var count = $("[data-outbox-count]");
    var total = (detail.waiting || 0) + (detail.refused || 0);
    if (count) count.textContent = String(detail.waiting || 0);
    if (link) {
      link.hidden = total === 0;
      if (detail.refused) link.dataset.refused = String(detail.refused);
      else delete link.dataset.refused;
    }
    renderOutbox(detail.items || []);
  });

  // Signing out with changes still waiting: they stay on this phone, sent when this officer
  // signs in here again (never by anyone else); say so first.
  $all("form[action='/sign-out']").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (outboxWaiting && !window.confirm(
        outboxWaiting + (outboxWaiting === 1 ? " change is" : " changes are") +
        " still waiting to send. They stay on this phone and are sent when you sign in here again. Sign out?"
      )) event.preventDefault();
    });
  });

  // ------------------------------------------------------------------ the service worker

  // Pages every officer needs offline, kept as soon as the worker controls this page
  // (the worker keeps what passes through it; a first visit does not pass through it).
  var KEEP_OFFLINE = ["/m", "/m/outbox", "/api/v1/mobile/work"];

  function keepForOffline(always) {
    if (!window.caches || !navigator.serviceWorker.controller || navigator.onLine === false) return;
    var wanted = KEEP_OFFLINE.concat(always ? [location.pathname + location.search] : []);
    wanted.forEach(function (url) {
      caches.match(url).then(function (kept) {
        if (!kept || url === location.pathname + location.search) {
          fetch(url, { credentials: "same-origin", headers: { Accept: url.indexOf("/api/") === 0 ? "application/json" : "text/html" } })
            .catch(function () {});
        }
      });
    });
  }

  if ("serviceWorker" in navigator && meta("bluelamp-user")) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m" }).catch(function () {
      // not installable here (e.g. plain http on another host): the app still works online
    });
    if (navigator.serviceWorker.controller) keepForOffline(false);
    navigator.serviceWorker.addEventListener("controllerchange", function () { keepForOffline(true); });
  }

  // ------------------------------------------------------------------ the emergency button

  var lastPosition = null; // the latest fix from location sharing or the emergency button

  function positionBody() {
    if (!lastPosition) return {};
    var c = lastPosition.coords;
    return { lat: c.latitude, lon: c.longitude, accuracy_m: c.accuracy };
  }

  function emergencyStatus(html, kind) {
    var box = $("[data-emergency-status]");
    if (!box) return;
    box.textContent = "";
    html.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "m-button";
    close.textContent = "Close";
    close.addEventListener("click", function () { box.hidden = true; });
    box.appendChild(close);
    box.dataset.kind = kind;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function sendEmergency() {
    var body = positionBody();
    var where = body.lat !== undefined
      ? "Your position went with it (" + body.lat.toFixed(5) + ", " + body.lon.toFixed(5) + ", within " + Math.round(body.accuracy_m) + " m)."
      : "The phone had no position: control has your unit's last known position.";
    if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
    window.BluelampQueue.send({ method: "POST", url: "/api/v1/mobile/emergency", body: body, label: "EMERGENCY", urgent: true }).then(
      function (result) {
        if (result.status === "sent") {
          var r = result.response || {};
          emergencyStatus([
            "EMERGENCY SENT at " + clock() + (r.call_sign ? " for " + r.call_sign : "") + ".",
            r.already_raised ? "Your emergency was already open: control has it on every screen." : "The control room has been alerted and will respond.",
            where,
          ], "sent");
          scheduleRefresh();
        } else if (result.status === "queued") {
          emergencyStatus([
            "NO CONNECTION: THE EMERGENCY IS NOT SENT YET. USE YOUR RADIO NOW.",
            "It will be sent first when the connection returns.",
          ], "queued");
        } else {
          emergencyStatus(["EMERGENCY NOT SENT: " + problemText(result.problem), "USE YOUR RADIO NOW."], "queued");
        }
      }
    );
  }

  function bindEmergency(button) {
    var started = null;
    var frame = null;
    var fired = false;
    var hint = $("[data-emergency-hint]");

    function progress() {
      var done = Math.min(1, (Date.now() - started) / HOLD_MS);
      button.style.setProperty("--hold", String(done));
      if (done >= 1) {
        fired = true;
        stop();
        sendEmergency();
        return;
      }
      frame = window.requestAnimationFrame(progress);
    }

    function start(event) {
      if (started !== null) return;
      if (event) event.preventDefault();
      started = Date.now();
      fired = false;
      button.dataset.holding = "true";
      if (hint) hint.hidden = false;
      // Ask for a fix now, so that one may be ready when the hold completes.
      if (navigator.geolocation) {
        navigator.geolocation.getCurrentPosition(function (position) { lastPosition = position; }, function () {}, {
          enableHighAccuracy: true,
          timeout: HOLD_MS,
          maximumAge: 30000,
        });
      }
      frame = window.requestAnimationFrame(progress);
    }

    function stop() {
      if (frame) window.cancelAnimationFrame(frame);
      frame = null;
      started = null;
      delete button.dataset.holding;
      if (hint) hint.hidden = true;
      button.style.setProperty("--hold", "0");
    }

    button.addEventListener("pointerdown", function (event) {
      if (button.setPointerCapture && event.pointerId !== undefined) {
        try { button.setPointerCapture(event.pointerId); } catch (error) { /* not capturable */ }
      }
      start(event);
    });
    ["pointerup", "pointercancel", "lostpointercapture"].forEach(function (name) {
      button.addEventListener(name, function () { if (!fired) stop(); });
    });
    button.addEventListener("keydown", function (event) {
      if ((event.key === " " || event.key === "Enter") && !event.repeat) start(event);
      else if (event.key === " " || event.key === "Enter") event.preventDefault();
    });
    button.addEventListener("keyup", function (event) {
      if (event.key === " " || event.key === "Enter") stop();
    });
    button.addEventListener("blur", stop);
    button.addEventListener("contextmenu", function (event) { event.preventDefault(); });
    button.addEventListener("click", function (event) {
      // A tap is not enough: say how to send it.
      event.preventDefault();
      if (!fired && hint && started === null) {
        hint.textContent = "Press and hold SOS for 2 seconds to send an emergency.";
        hint.hidden = false;
        setTimeout(function () {
          if (started === null) {
            hint.hidden = true;
            hint.textContent = "Keep holding to send the emergency…";
          }
        }, 3000);
      }
    });
  }

  $all("[data-emergency]").forEach(bindEmergency);

  // ------------------------------------------------------------------ location sharing

  // lastSent lasts across the app's pages (this tab), so that moving between them keeps the interval.
  var sharing = { watch: null, timer: null, lastSent: 0, paused: false };
  try {
    sharing.lastSent = parseInt(window.sessionStorage.getItem("bluelamp-location-last") || "0", 10) || 0;
  } catch (error) {
    sharing.lastSent = 0;
  }

  function markSent() {
    sharing.lastSent = Date.now();
    try {
      window.sessionStorage.setItem("bluelamp-location-last", String(sharing.lastSent));
    } catch (error) {
      // storage blocked: the interval restarts on each page
    }
  }
  var user = meta("bluelamp-user");
  var CONSENT = "bluelamp-location-consent:" + user;
  var SHARING = "bluelamp-location-sharing:" + user;

  function sharingSeconds() {
    var card = $("[data-sharing]");
    var seconds = card ? parseInt(card.dataset.positionSeconds, 10) : NaN;
    if (!isNaN(seconds)) store("bluelamp-location-seconds", String(seconds));
    else seconds = parseInt(stored("bluelamp-location-seconds") || "30", 10);
    return Math.max(5, seconds || 30);
  }

  function sharingOn() { return Boolean(user) && stored(CONSENT) === "yes" && stored(SHARING) === "on"; }

  function showSharing(message, kind) {
    var card = $("[data-sharing]");
    if (!card) return;
    var on = sharingOn();
    var state = $("[data-sharing-state]", card);
    state.dataset.on = String(on && !sharing.paused);
    state.textContent = on ? (sharing.paused ? "Paused: you are not on duty" : "On: sharing every " + sharingSeconds() + " s") : "Off";
    $("[data-sharing-detail]", card).textContent = on && sharing.lastSent
      ? "Last sent at " + clock(new Date(sharing.lastSent)) + "."
      : on ? "" : "Your position is not shared.";
    $("[data-sharing-start]", card).hidden = on;
    $("[data-sharing-stop]", card).hidden = !on;
    if (message !== undefined) say($("[data-sharing-message]", card), message, kind);
  }

  function postPosition() {
    if (!lastPosition || sharing.paused || navigator.onLine === false) return;
    var c = lastPosition.coords;
    var body = {
      lat: c.latitude,
      lon: c.longitude,
      accuracy_m: c.accuracy,
      timestamp: new Date(lastPosition.timestamp).toISOString(),
    };
    if (c.speed !== null && !isNaN(c.speed)) body.speed_mps = c.speed;
    if (c.heading !== null && !isNaN(c.heading)) body.bearing = c.heading;
    markSent();
    fetch("/api/v1/mobile/position", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": meta("csrf-token") },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (response.ok) return showSharing();
      return response.json().then(function (problem) {
        if (problem.code === "mobile.not_on_duty") {
          sharing.paused = true;
          showSharing("Not shared: " + problemText(problem), "refused");
        } else {
          showSharing("Not shared: " + problemText(problem), "refused");
        }
      }, function () {});
    }, function () { /* offline: the next fix goes when the connection returns */ });
  }

  function startSharing() {
    if (!navigator.geolocation || sharing.watch !== null) return;
    sharing.paused = false;
    sharing.watch = navigator.geolocation.watchPosition(
      function (position) {
        lastPosition = position;
        if (Date.now() - sharing.lastSent >= sharingSeconds() * 1000) postPosition();
      },
      function (error) {
        var words = error.code === 1 ? "the phone does not allow this app to use its location (check its settings)" : "no position yet";
        showSharing("Location: " + words + ".", error.code === 1 ? "refused" : "queued");
      },
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 60000 }
    );
    // A phone standing still may report no new fix: send the last one at the interval anyway.
    sharing.timer = setInterval(function () {
      if (Date.now() - sharing.lastSent >= sharingSeconds() * 1000) postPosition();
    }, 1000 * Math.max(5, Math.floor(sharingSeconds() / 2)));
    showSharing();
  }

  function stopSharing() {
    if (sharing.watch !== null && navigator.geolocation) navigator.geolocation.clearWatch(sharing.watch);
    if (sharing.timer) clearInterval(sharing.timer);
    sharing.watch = null;
    sharing.timer = null;
    showSharing();
  }

  (function bindSharing() {
    var card = $("[data-sharing]");
    if (card) {
      var consent = $("[data-consent]", card);
      $("[data-sharing-start]", card).addEventListener("click", function () {
        if (stored(CONSENT) === "yes") {
          store(SHARING, "on");
          startSharing();
          return;
        }
        consent.hidden = false;
        $("[data-consent-yes]", consent).focus();
      });
      $("[data-consent-yes]", card).addEventListener("click", function () {
        store(CONSENT, "yes");
        store(SHARING, "on");
        consent.hidden = true;
        startSharing();
        showSharing("You agreed on " + new Date().toLocaleDateString("en-GB") + ". Stop at any time here.", "sent");
      });
      $("[data-consent-no]", card).addEventListener("click", function () {
        consent.hidden = true;
        showSharing("Not shared. You can turn it on here later.", "");
      });
      $("[data-sharing-stop]", card).addEventListener("click", function () {
        store(SHARING, "off");
        stopSharing();
        showSharing("Stopped: your position is no longer shared.", "");
      });
    }
    var panel = $("[data-work-panel]");
    var onDuty = !panel || panel.dataset.onDuty === "true";
    if (sharingOn() && onDuty) startSharing();
    else showSharing();
  })();

  // ------------------------------------------------------------------ alerts for new jobs

  function showAlerts() {
    var card = $("[data-alerts]");
    if (!card || !("Notification" in window)) return;
    card.hidden = false;
    var state = $("[data-alerts-state]", card);
    var button = $("[data-alerts-on]", card);
    if (Notification.permission === "granted") state.textContent = "On: a new job alerts you even when the app is in the background.";
    else if (Notification.permission === "denied") state.textContent = "Blocked in the phone's settings for this site: new jobs show only on this page.";
    else state.textContent = "Off: new jobs show only on this page.";
    button.hidden = Notification.permission !== "default";
    button.onclick = function () {
      Notification.requestPermission().then(showAlerts);
    };
  }

  function notifyAssignment(panel) {
    var title = "New job: " + (panel.dataset.incidentReference || "assignment");
    var body = panel.dataset.incidentSummary || "Open the app for the details.";
    var announce = $("[data-work-announce]");
    if (announce) announce.textContent = title + ". " + body;
    if (navigator.vibrate) navigator.vibrate([200, 100, 200, 100, 400]);
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var options = { body: body, tag: "assignment-" + panel.dataset.incidentId, icon: "/static/mobile/icon-192.png", requireInteraction: true };
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.ready.then(function (registration) { registration.showNotification(title, options); });
    } else {
      try {
        new Notification(title, options);
      } catch (error) {
        // this browser shows notifications only through a service worker
      }
    }
  }

  // ------------------------------------------------------------------ my work

  var work = $("#work");
  var refreshing = null;
  var refreshAgain = false;
  var refreshTimer = null;

  function panel() { return $("[data-work-panel]"); }

  function scheduleRefresh() {
    if (!work) return;
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshWork, 150);
  }

  // Fetch the page again and swap the work panel, keeping what the officer is typing.
  function refreshWork() {
    refreshTimer = null;
    if (!work) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = fetch("/m", { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (response) {
        if (response.redirected && new URL(response.url).pathname.indexOf("/sign-in") === 0) {
          location.assign("/sign-in?next=%2Fm");
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("#work");
        if (!fresh) return;
        var before = panel();
        var beforeIncident = before ? before.dataset.incidentId : "";
        var kept = {};
        var focused = document.activeElement && document.activeElement.id;
        $all("[data-keep]", work).forEach(function (field) { kept[field.id] = field.value; });
        var messages = {};
        $all(".m-message[id]", work).forEach(function (element) {
          if (!element.hidden) messages[element.id] = [element.textContent, element.dataset.kind];
        });
        work.innerHTML = fresh.innerHTML;
        var after = panel();
        if (after && after.dataset.incidentId === beforeIncident) {
          Object.keys(kept).forEach(function (id) {
            var field = document.getElementById(id);
            if (field && kept[id]) field.value = kept[id];
          });
          Object.keys(messages).forEach(function (id) {
            say(document.getElementById(id), messages[id][0], messages[id][1]);
          });
          if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        } else if (after && after.dataset.incidentId) {
          notifyAssignment(after);
        }
        bindWork();
      })
      .catch(function () { /* offline: the panel stays as it was */ })
      .then(function () {
        refreshing = null;
        if (refreshAgain) {
          refreshAgain = false;
          scheduleRefresh();
        }
      });
  }

  function statusResult(button, result, message) {
    var label = button.dataset.label;
    if (result.status === "sent") {
      var r = result.response || {};
      say(message, r.changed === false ? (r.call_sign || "The unit") + " was already " + label.toLowerCase() + "." : (r.call_sign || "The unit") + ": " + label + " at " + clock() + ". Control can see it.", "sent");
      scheduleRefresh();
    } else if (result.status === "queued") {
      $all("[data-status-buttons] button", work).forEach(function (other) {
        other.setAttribute("aria-pressed", String(other === button));
      });
      say(message, "No connection: \"" + label + "\" is saved on this phone and will be sent when the connection returns.", "queued");
    } else {
      say(message, problemText(result.problem), "refused");
      scheduleRefresh();
    }
  }

  function bindWork() {
    var current = panel();
    if (!current) return;
    $all("[data-status-buttons] button", current).forEach(function (button) {
      button.addEventListener("click", function () {
        var message = $("[data-status-message]", current);
        if (button.getAttribute("aria-pressed") === "true") {
          say(message, (current.dataset.callSign || "The unit") + " is already " + button.dataset.label.toLowerCase() + ".", "");
          return;
        }
        if (button.getAttribute("aria-disabled") === "true") {
          say(message, button.dataset.label + " is not possible now: " + (button.dataset.why || "not from this status") + ".", "refused");
          return;
        }
        var reference = current.dataset.incidentReference;
        var body = { status: button.dataset.status, incident_id: current.dataset.incidentId || null };
        say(message, "Sending…", "");
        window.BluelampQueue.send({
          method: "POST",
          url: "/api/v1/mobile/status",
          body: body,
          label: "Status: " + button.dataset.label + (reference ? " (" + reference + ")" : ""),
        }).then(function (result) { statusResult(button, result, message); });
      });
    });
    $all("[data-mobile-form]", current).forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var kind = form.dataset.mobileForm;
        var message = $("[data-form-message]", form);
        var reference = current.dataset.incidentReference;
        var request;
        if (kind === "update") {
          var text = form.elements.text.value.trim();
          if (!text) {
            say(message, "Write the update first.", "refused");
            form.elements.text.focus();
            return;
          }
          request = {
            method: "POST",
            url: "/api/v1/mobile/updates",
            body: { incident_id: current.dataset.incidentId, text: text },
            label: "Update to " + reference,
          };
        } else {
          var note = form.elements.note.value.trim();
          var body = { incident_id: current.dataset.incidentId, note: note || null };
          var here = positionBody();
          if (here.lat !== undefined) {
            body.lat = here.lat;
            body.lon = here.lon;
          }
          request = { method: "POST", url: "/api/v1/mobile/backup", body: body, label: "Backup request for " + reference };
        }
        var button = form.querySelector("button[type=submit]");
        button.disabled = true;
        say(message, "Sending…", "");
        window.BluelampQueue.send(request).then(function (result) {
          button.disabled = false;
          if (result.status === "refused") {
            say(message, problemText(result.problem), "refused"); // what was typed stays in the form
            return;
          }
          $all("[data-keep]", form).forEach(function (field) { field.value = ""; });
          if (result.status === "sent") {
            var r = result.response || {};
            var words = kind === "update"
              ? "Added to the log of " + reference + " at " + clock() + "."
              : r.already_requested ? "Backup was already asked for; control has it." : "Backup asked for at " + clock() + ": control has it.";
            say(message, words, "sent");
            scheduleRefresh();
          } else {
            say(message, "No connection: saved on this phone; it will be sent when the connection returns.", "queued");
          }
        });
      });
    });
  }

  if (work) {
    bindWork();
    showAlerts();
    if (window.BluelampLive) {
      var snapshots = 0;
      window.BluelampLive.onState(function (state) {
        liveState = state;
        showConnection();
        if (state === "signed-out") scheduleRefresh(); // the page answers with the way to sign in again
      });
      window.BluelampLive.subscribe(function (message) {
        var current = panel();
        var unitId = current ? current.dataset.unitId : "";
        var incidentId = current ? current.dataset.incidentId : "";
        if (message.type === "snapshot") {
          snapshots += 1;
          var mine = (message.units || []).filter(function (unit) { return unit.id === unitId; })[0];
          var stale = mine && ((mine.incident_id || "") !== incidentId || mine.status !== current.dataset.unitStatus);
          if (snapshots > 1 || stale) scheduleRefresh(); // reconnected, or changed while the page loaded
          return;
        }
        var relevant = (message.events || []).some(function (event) {
          var data = event.data || {};
          if (unitId && data.unit_id === unitId) return true;
          return Boolean(incidentId) && event.name.indexOf("Incident") === 0 && data.incident_id === incidentId;
        });
        if (relevant) scheduleRefresh();
      });
    }
    window.addEventListener("bluelamp:sent", scheduleRefresh);
    window.addEventListener("online", scheduleRefresh);
  }

  // ------------------------------------------------------------------ the outbox page

  function renderOutbox(items) {
    var page = $("[data-outbox-page]");
    if (!page) return;
    var list = $("[data-outbox-list]", page);
    list.textContent = "";
    $("[data-outbox-empty]", page).hidden = items.length > 0;
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "m-outbox-item";
      li.dataset.state = item.state;
      li.setAttribute("data-testid", "outbox-item");
      var heading = document.createElement("h3");
      heading.textContent = item.label;
      li.appendChild(heading);
      var when = document.createElement("p");
      when.className = "m-small m-muted";
      when.textContent = "Made at " + clock(new Date(item.created_at)) + (item.state === "refused" ? " · refused, not applied" : " · waiting to send");
      li.appendChild(when);
      var text = item.body && (item.body.text || item.body.note || item.body.status);
      if (text) {
        var pre = document.createElement("pre");
        pre.textContent = text;
        li.appendChild(pre);
      }
      if (item.state === "refused") {
        var why = document.createElement("p");
        why.className = "m-message";
        why.dataset.kind = "refused";
        why.textContent = problemText(item.problem);
        li.appendChild(why);
        var actions = document.createElement("div");
        actions.className = "m-actions";
        var again = document.createElement("button");
        again.type = "button";
        again.className = "m-button";
        again.textContent = "Try again";
        again.addEventListener("click", function () { window.BluelampQueue.retry(item.id); });
        var drop = document.createElement("button");
        drop.type = "button";
        drop.className = "m-button danger";
        drop.textContent = "Discard";
        drop.addEventListener("click", function () { window.BluelampQueue.discard(item.id); });
        actions.append(again, drop);
        li.appendChild(actions);
      }
      list.appendChild(li);
    });
  }

  var sendNow = $("[data-outbox-send]");
  if (sendNow) {
    sendNow.addEventListener("click", function () {
      if (navigator.onLine === false) {
        sendNow.textContent = "No connection: will send when it returns";
        return;
      }
      window.BluelampQueue.flush();
    });
  }
  if (window.BluelampQueue) window.BluelampQueue.refresh();
})();
