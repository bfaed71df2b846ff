// Small behaviours for the server-rendered pages. No inline scripts: the CSP allows only
// files under /static.
(function () {
  "use strict";

  // Close the user menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
  });

  // Flash messages fade after a few seconds.
  function fadeFlashes(root) {
    root.querySelectorAll(".flash-success").forEach(function (flash) {
      setTimeout(function () { flash.classList.add("fade"); }, 4000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fadeFlashes(document); });
  document.addEventListener("htmx:load", function (event) { fadeFlashes(event.target); });
})();
