// The officer app's outbox. Features send their changes through it:
//
//   BluelampQueue.send({method: "POST", url: "/api/v1/...", body: {...}, label: "Notebook entry"})
//
// which answers a Promise of one of:
//   {status: "sent", response: <parsed JSON>}       the server took it now;
//   {status: "queued"}                               no connection (or the server is down): kept in
//                                                     this phone's IndexedDB, sent when it returns;
//   {status: "refused", problem: <RFC 9457 JSON>}    a 4xx other than 408/429: never retried; show
//                                                     problem.detail and keep what the officer typed.
//
// Every change carries an Idempotency-Key (a random UUID made once, kept with the change), the
// session cookie and the page's CSRF token, so a change sent again after a dropped connection is
// applied once: the server answers a repeat with its first answer. Queued changes are sent one at
// a time, in the order they were made (``urgent: true``, the emergency, goes first), when the
// connection returns, when a page opens, and every 20 seconds while any wait. A queued change
// later refused stays in the outbox, marked refused with the server's message and its text, until
// the officer discards it (the outbox page, /m/outbox, lists them all).
//
// A change belongs to the officer who made it: another officer signing in on the same phone never
// sends it. Events on window: "bluelamp:outbox" ({detail: {waiting, refused, items}}) whenever the
// outbox changes, "bluelamp:sent" ({detail: {item, response}}) when a queued change is finally
// sent, "bluelamp:refused" ({detail: {item, problem}}) when a queued change is refused.
(function () {
  "use strict";
  if (window.BluelampQueue) return;

  var DB_NAME = "bluelamp-outbox";
  var STORE = "items";
  var RETRY_MS = 20000;
  var memory = []; // when IndexedDB is unavailable (some private modes): kept for this page only
  var memoryId = 0;
  var databasePromise = null;
  var flushing = null;
  var timer = null;

  // ------------------------------------------------------------------ storage

  function database() {
    if (databasePromise) return databasePromise;
    databasePromise = new Promise(function (resolve) {
      if (!window.indexedDB) return resolve(null);
      var request;
      try {
        request = window.indexedDB.open(DB_NAME, 1);
      } catch (error) {
        return resolve(null);
      }
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { resolve(null); };
      request.onblocked = function () { resolve(null); };
    });
    return databasePromise;
  }

  function withStore(mode, work) {
    return database().then(function (db) {
      if (!db) return work(null);
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var result;
        transaction.oncomplete = function () { resolve(result); };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error); };
        result = work(transaction.objectStore(STORE));
      });
    });
  }

  function allItems() {
    return database().then(function (db) {
      if (!db) return memory.slice();
      return new Promise(function (resolve, reject) {
        var request = db.transaction(STORE, "readonly").objectStore(STORE).getAll();
        request.onsuccess = function () { resolve(request.result || []); };
        request.onerror = function () { reject(request.error); };
      });
    });
  }

  function store(item) {
    return withStore("readwrite", function (objects) {
      if (!objects) {
        if (item.id === undefined) item.id = ++memoryId;
        memory = memory.filter(function (other) { return other.id !== item.id; }).concat([item]);
        return item;
      }
      var request = objects.put(item);
      request.onsuccess = function () { item.id = request.result; };
      return item;
    }).then(function () { return item; });
  }

  function remove(id) {
    return withStore("readwrite", function (objects) {
      if (!objects) {
        memory = memory.filter(function (item) { return item.id !== id; });
        return;
      }
      objects.delete(id);
    });
  }

  // ------------------------------------------------------------------ who and how

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.content : "";
  }

  function currentUser() { return meta("bluelamp-user"); }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function mine(item) { return item.user === currentUser(); }

  function inOrder(items) {
    return items.slice().sort(function (a, b) {
      if (Boolean(a.urgent) !== Boolean(b.urgent)) return a.urgent ? -1 : 1;
      return a.id - b.id;
    });
  }

  function localProblem(detail) {
    return { type: "about:blank", title: "Not sent", status: 0, detail: detail, code: "outbox.local" };
  }

  // A fresh CSRF token, when the session was renewed since this page was rendered.
  function refreshToken() {
    return fetch("/m/outbox", { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        var found = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
        if (!found) return false;
        var element = document.querySelector('meta[name="csrf-token"]');
        if (element && element.content !== found[1]) {
          element.content = found[1];
          return true;
        }
        return false;
      })
      .catch(function () { return false; });
  }

  // One attempt. Answers {outcome: "sent" | "refused" | "retry" | "offline" | "signed-out", response, problem}.
  function attempt(item, secondTry) {
    var headers = { Accept: "application/json", "Idempotency-Key": item.key, "X-CSRF-Token": meta("csrf-token") };
    var init = { method: item.method, credentials: "same-origin", headers: headers, cache: "no-store" };
    if (item.body !== undefined && item.body !== null) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(item.body);
    }
    return fetch(item.url, init).then(
      function (response) {
        return response.text().then(function (text) {
          var parsed = null;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch (error) {
            parsed = null;
          }
          var status = response.status;
          if (status >= 200 && status < 300) return { outcome: "sent", response: parsed };
          if (status === 401) return { outcome: "signed-out", problem: parsed };
          if (status === 403 && parsed && parsed.code === "access.csrf" && !secondTry) {
            return refreshToken().then(function (renewed) {
              return renewed ? attempt(item, true) : { outcome: "signed-out", problem: parsed };
            });
          }
          if (status === 408 || status === 429 || status >= 500) return { outcome: "retry", problem: parsed };
          return { outcome: "refused", problem: parsed || localProblem("The server refused it (" + status + ").") };
        });
      },
      function () { return { outcome: "offline" }; }
    );
  }

  // ------------------------------------------------------------------ the outbox

  function announce() {
    return allItems().then(function (items) {
      var own = inOrder(items.filter(mine));
      var waiting = own.filter(function (item) { return item.state !== "refused"; }).length;
      var refused = own.length - waiting;
      window.dispatchEvent(new CustomEvent("bluelamp:outbox", { detail: { waiting: waiting, refused: refused, items: own } }));
      schedule(waiting > 0);
      return own;
    });
  }

  function schedule(needed) {
    if (needed && !timer) {
      timer = setInterval(function () { flush(); }, RETRY_MS);
    } else if (!needed && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  function sendWaiting() {
    return allItems().then(function (items) {
      var waiting = inOrder(items.filter(function (item) { return mine(item) && item.state !== "refused"; }));
      var index = 0;
      function next() {
        if (index >= waiting.length) return Promise.resolve();
        var item = waiting[index++];
        return attempt(item).then(function (result) {
          if (result.outcome === "sent") {
            return remove(item.id).then(function () {
              window.dispatchEvent(new CustomEvent("bluelamp:sent", { detail: { item: item, response: result.response } }));
              return next();
            });
          }
          if (result.outcome === "refused") {
            item.state = "refused";
            item.problem = result.problem;
            item.refused_at = new Date().toISOString();
            return store(item).then(function () {
              window.dispatchEvent(new CustomEvent("bluelamp:refused", { detail: { item: item, problem: result.problem } }));
              return next();
            });
          }
          return undefined; // offline, server trouble or signed out: keep the rest in order, try later
        });
      }
      return next();
    });
  }

  // Send what waits, in order; one sender at a time across this phone's tabs.
  function flush() {
    if (flushing) return flushing;
    var run = function () { return sendWaiting(); };
    var locked = navigator.locks && navigator.locks.request
      ? navigator.locks.request("bluelamp-outbox", run)
      : run();
    flushing = Promise.resolve(locked)
      .catch(function () { /* storage trouble: try again later */ })
      .then(announce)
      .then(function (items) {
        flushing = null;
        return items;
      }, function () {
        flushing = null;
      });
    return flushing;
  }

  function enqueue(item) {
    return store(item).then(announce).then(function () {
      return { status: "queued", item: item };
    });
  }

  function send(request) {
    var item = {
      key: request.key || newKey(),
      method: (request.method || "POST").toUpperCase(),
      url: request.url,
      body: request.body === undefined ? null : request.body,
      label: request.label || request.url,
      urgent: Boolean(request.urgent),
      user: currentUser(),
      created_at: new Date().toISOString(),
      state: "waiting",
    };
    if (navigator.onLine === false) return enqueue(item);
    return allItems().then(function (items) {
      var earlier = items.filter(function (other) { return mine(other) && other.state !== "refused"; });
      if (earlier.length && !item.urgent) {
        // Changes are applied in the order they were made: this one waits behind the others.
        return enqueue(item).then(function (queued) {
          flush();
          return queued;
        });
      }
      return attempt(item).then(function (result) {
        if (result.outcome === "sent") {
          if (earlier.length) flush();
          return { status: "sent", response: result.response };
        }
        if (result.outcome === "refused") return { status: "refused", problem: result.problem };
        return enqueue(item);
      });
    });
  }

  function discard(id) {
    return remove(id).then(announce);
  }

  // Try a refused change again (after the officer fixed what was wrong elsewhere).
  function retry(id) {
    return allItems().then(function (items) {
      var item = items.filter(function (other) { return other.id === id && mine(other); })[0];
      if (!item) return announce();
      item.state = "waiting";
      delete item.problem;
      return store(item).then(flush);
    });
  }

  window.BluelampQueue = {
    send: send,
    flush: flush,
    discard: discard,
    retry: retry,
    // Promise of this officer's items in the order they will be sent (refused ones included).
    items: function () { return allItems().then(function (items) { return inOrder(items.filter(mine)); }); },
    // Promise of the outbox's state, and a fresh "bluelamp:outbox" event.
    refresh: announce,
  };

  window.addEventListener("online", function () { flush(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") flush();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { flush(); });
  else setTimeout(flush, 0);
})();
