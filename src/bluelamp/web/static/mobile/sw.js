// The officer app's service worker (scope /m; served by /m/sw.js with its version filled in).
//
// Pages under /m and the app's reads (GET /api/v1/mobile/*, /api/v1/notebook/*) are fetched
// from the network first and kept: with no connection the last copy is shown, so the last
// assignment and the notebook stay readable offline. Static files (/static/) come from the
// cache first and are refreshed behind it. A response marked "Cache-Control: no-store" is
// never kept (a page can opt out). Changes (POST...) are never touched here: the outbox
// (queue.js) keeps them while offline.
//
// What it keeps is the signed-in officer's: it is all forgotten on signing out, when a page
// sends the browser to sign in, or when the server says the session has ended.
"use strict";

var VERSION = "__VERSION__";
var STATIC_CACHE = "bluelamp-m-static-" + VERSION;
var PAGE_CACHE = "bluelamp-m-pages";
var OFFLINE_PAGE = "/m/offline";
var PRECACHE = [
  OFFLINE_PAGE,
  "/static/mobile/mobile.css",
  "/static/mobile/theme.js",
  "/static/mobile/queue.js",
  "/static/mobile/app.js",
  "/static/mobile/icon.svg",
  "/static/mobile/icon-192.png",
  "/static/js/live.js",
  "/static/vendor/htmx/htmx.min.js",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(PRECACHE); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(
        names
          .filter(function (name) { return name.indexOf("bluelamp-m-static-") === 0 && name !== STATIC_CACHE; })
          .map(function (name) { return caches.delete(name); })
      );
    }).then(function () { return self.clients.claim(); })
  );
});

function forget() {
  return caches.delete(PAGE_CACHE);
}

function keepable(response) {
  if (!response || !response.ok || response.type !== "basic" || response.redirected) return false;
  return (response.headers.get("Cache-Control") || "").indexOf("no-store") === -1;
}

function signedOut(response) {
  if (response.status === 401) return true;
  if (!response.redirected) return false;
  var path = new URL(response.url).pathname;
  return path === "/sign-in" || path.indexOf("/sign-in/") === 0;
}

function offlineProblem() {
  var body = {
    type: "/errors/offline",
    title: "Offline",
    status: 503,
    detail: "There is no connection, and this was not kept on the phone.",
    code: "offline",
  };
  return new Response(JSON.stringify(body), { status: 503, headers: { "Content-Type": "application/problem+json" } });
}

function networkFirst(request, isPage) {
  return fetch(request).then(
    function (response) {
      if (signedOut(response)) {
        return forget().then(function () { return response; });
      }
      if (keepable(response)) {
        var copy = response.clone();
        caches.open(PAGE_CACHE).then(function (cache) { return cache.put(request, copy); });
      }
      return response;
    },
    function () {
      return caches.open(PAGE_CACHE).then(function (cache) {
        return cache.match(request, { ignoreVary: true });
      }).then(function (kept) {
        if (kept) return kept;
        if (!isPage) return offlineProblem();
        return caches.match(OFFLINE_PAGE).then(function (page) { return page || offlineProblem(); });
      });
    }
  );
}

function cacheFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (kept) {
      var fetched = fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      if (kept) {
        fetched.catch(function () { /* offline: the kept copy serves */ });
        return kept;
      }
      return fetched;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    if (url.pathname === "/sign-out") event.waitUntil(forget());
    return;
  }
  var path = url.pathname;
  if (path === "/m/sw.js" || path === "/m/manifest.webmanifest") return;
  if (path === "/m" || path.indexOf("/m/") === 0) {
    event.respondWith(networkFirst(request, true));
  } else if (path.indexOf("/api/v1/mobile/") === 0 || path === "/api/v1/notebook" || path.indexOf("/api/v1/notebook/") === 0) {
    event.respondWith(networkFirst(request, false));
  } else if (path.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  }
});

// A tap on a "new assignment" notification opens (or brings forward) the work page.
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        var path = new URL(windows[i].url).pathname;
        if (path === "/m" && "focus" in windows[i]) return windows[i].focus();
      }
      return self.clients.openWindow("/m");
    })
  );
});

self.addEventListener("message", function (event) {
  if (event.data === "forget") event.waitUntil(forget());
});
