// The live feed client every script on a page shares: one WebSocket to /ws/live, a
// snapshot on each (re)connection, then batched frames of changes. It reconnects with
// growing, jittered delays, and stops when the session has ended.
(function () {
  "use strict";
  if (window.BluelampLive) return; // loaded twice (the emergencies banner and a page): keep the first

  var handlers = [];
  var stateHandlers = [];
  var socket = null;
  var timer = null;
  var attempt = 0;
  var opened = false;
  var stopped = false;
  var started = false;
  var state = "connecting";
  var serverOffset = 0; // server clock minus this browser's, from the last snapshot

  function setState(next) {
    state = next;
    stateHandlers.forEach(function (fn) { fn(next); });
  }

  function feedUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/live";
  }

  function deliver(message) {
    handlers.forEach(function (fn) {
      try {
        fn(message);
      } catch (error) {
        setTimeout(function () { throw error; }); // report it without starving the other handlers
      }
    });
  }

  function connect() {
    timer = null;
    opened = false;
    setState(attempt === 0 ? "connecting" : "reconnecting");
    try {
      socket = new WebSocket(feedUrl());
    } catch (error) {
      schedule();
      return;
    }
    socket.addEventListener("open", function () { opened = true; });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type === "snapshot") {
        attempt = 0;
        serverOffset = Date.parse(message.at) - Date.now();
        setState("live");
      }
      deliver(message);
    });
    socket.addEventListener("close", function (event) {
      socket = null;
      if (stopped) return;
      if (event.code === 4401) {
        setState("signed-out");
      } else if (!opened) {
        checkSignedIn(); // a refused handshake tells the page nothing: ask whether we are still signed in
      } else {
        schedule();
      }
    });
  }

  function schedule() {
    attempt += 1;
    var delay = Math.min(30000, 1000 * Math.pow(2, attempt - 1)) * (0.75 + Math.random() * 0.5);
    setState("reconnecting");
    timer = setTimeout(connect, delay);
  }

  function checkSignedIn() {
    fetch("/api/v1/emergencies", { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (response) {
        if (response.status === 401 || response.status === 403) setState("signed-out");
        else schedule();
      },
      schedule
    );
  }

  // Every .live-status element on the page shows the connection's state.
  function showState(next) {
    document.querySelectorAll(".live-status").forEach(function (element) {
      element.dataset.state = next;
      element.textContent = window.BluelampLive.stateLabels[next] || next;
      if (next === "signed-out") {
        element.textContent = "";
        var link = document.createElement("a");
        link.href = "/sign-in?next=" + encodeURIComponent(location.pathname + location.search);
        link.textContent = window.BluelampLive.stateLabels[next];
        element.appendChild(link);
      }
    });
  }

  function start() {
    if (started || stopped) return;
    started = true;
    stateHandlers.push(showState);
    showState(state);
    connect();
  }

  window.addEventListener("pagehide", function () {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (socket) socket.close(1000, "page closed");
  });

  window.BluelampLive = {
    // Call fn with every message ({type: "snapshot"} or {type: "frame", events: [...]}).
    subscribe: function (fn) {
      handlers.push(fn);
      // Connect once every deferred script has subscribed, so all of them see the first
      // snapshot. Deferred scripts run while readyState is already "interactive", one by
      // one as each arrives, so a timer could fire (and the snapshot arrive) before a later
      // one has run: only DOMContentLoaded, which waits for them all, is safe to start on.
      // A script added after it starts at once; "load" covers one added between the two.
      if (document.readyState === "complete") setTimeout(start, 0);
      else {
        document.addEventListener("DOMContentLoaded", start);
        window.addEventListener("load", start);
      }
    },
    // Call fn with the connection's state: connecting, live, reconnecting or signed-out.
    onState: function (fn) {
      stateHandlers.push(fn);
      fn(state);
    },
    // Now by the server's clock (milliseconds), for ages of fixes and emergencies.
    now: function () {
      return Date.now() + serverOffset;
    },
    // "12 s", "4 min", "2 h 5 min": how long ago an ISO time was.
    age: function (iso) {
      if (!iso) return "never";
      var seconds = Math.max(0, Math.round((Date.now() + serverOffset - Date.parse(iso)) / 1000));
      if (seconds < 60) return seconds + " s";
      var minutes = Math.floor(seconds / 60);
      if (minutes < 60) return minutes + " min";
      var hours = Math.floor(minutes / 60);
      return hours + " h" + (minutes % 60 ? " " + (minutes % 60) + " min" : "");
    },
    // live, stale or offline, as the server decides it.
    freshness: function (iso, staleSeconds, offlineSeconds) {
      if (!iso) return "offline";
      var seconds = (Date.now() + serverOffset - Date.parse(iso)) / 1000;
      if (seconds >= offlineSeconds) return "offline";
      return seconds >= staleSeconds ? "stale" : "live";
    },
    // UK wall-clock time of an ISO time ("14:32:05").
    clock: function (iso) {
      return new Date(iso).toLocaleTimeString("en-GB", { timeZone: "Europe/London" });
    },
    stateLabels: {
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting…",
      "signed-out": "Signed out: sign in again",
    },
  };
})();
