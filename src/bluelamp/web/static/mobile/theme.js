// Before the page paints: the colours the officer chose in the app (html[data-theme]),
// so that a dark screen at night never flashes white. No choice ("auto", the default):
// the phone's own setting (prefers-color-scheme) decides, in mobile.css.
(function () {
  "use strict";
  try {
    var chosen = window.localStorage.getItem("bluelamp-theme");
    if (chosen === "dark" || chosen === "light") document.documentElement.dataset.theme = chosen;
  } catch (error) {
    // storage blocked: follow the phone
  }
})();
