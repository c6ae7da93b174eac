// Bluelamp staff pages. No inline script anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  // Every htmx request to this site carries the session's CSRF token (from the
  // <meta name="csrf-token"> tag); the server refuses unsafe requests without it.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (!meta || !meta.content) return;
    var target = new URL(event.detail.path, window.location.href);
    if (target.origin !== window.location.origin) return; // never hand the token to another site
    event.detail.headers["X-CSRF-Token"] = meta.content;
  });
})();
