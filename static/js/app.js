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

// Project forms: fields marked data-show-when="override_secret type=ssh" show only while every
// condition holds ("name" = a ticked checkbox, "name=value" = a chosen option). A condition on a
// field the form does not have counts as met. Hidden fields are still sent; the service ignores
// what the chosen type does not use.
(function () {
  "use strict";

  function conditionHolds(form, condition) {
    var parts = condition.split("=");
    var input = form.elements[parts[0]];
    if (!input) { return true; }
    if (parts.length === 1) { return input.checked; }
    return input.value === parts[1];
  }

  function refresh(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (field) {
      if (!field.classList.contains("field")) { return; }
      var show = field.getAttribute("data-show-when").split(/\s+/).every(function (c) {
        return conditionHolds(form, c);
      });
      field.hidden = !show;
    });
  }

  function init(root) {
    root.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector(".field[data-show-when]")) { refresh(form); }
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.querySelector(".field[data-show-when]")) { refresh(form); }
    // A select marked data-autosubmit (a member's role) saves as soon as it changes.
    if (event.target.matches("select[data-autosubmit]") && form) { form.requestSubmit(); }
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });

  // Repeatable rows (an environment's new secrets): "add" copies the last row, empty, with the
  // next index in its field names (secrets-0-name -> secrets-1-name).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) { return; }
    var list = document.getElementById(button.getAttribute("data-add-row"));
    var rows = list.querySelectorAll("[data-row]");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    var next = rows.length;
    copy.querySelectorAll("input, select, label").forEach(function (el) {
      ["name", "id", "for", "data-testid"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace(/-\d+-/, "-" + next + "-")); }
      });
      if (el.tagName === "INPUT") { el.value = ""; }
      if (el.tagName === "SELECT") { el.selectedIndex = 0; }
    });
    copy.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
    list.appendChild(copy);
  });
})();

// Task pages: the run dialog (a <dialog data-modal> appended by the Run button) opens at once
// and is removed once closed. (A task's output: task_log.js.)
(function () {
  "use strict";

  function openDialogs(root) {
    var dialogs = root.matches && root.matches("dialog[data-modal]") ? [root] : [];
    if (root.querySelectorAll) {
      dialogs = dialogs.concat(Array.prototype.slice.call(root.querySelectorAll("dialog[data-modal]")));
    }
    dialogs.forEach(function (dialog) {
      if (dialog.open) { return; }
      dialog.addEventListener("close", function () { dialog.remove(); });
      dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    });
  }
  document.addEventListener("htmx:load", function (event) { openDialogs(event.target); });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    var dialog = closer && closer.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
    }
  });

  // A field of the run dialog loses its error once the user changes it.
  document.addEventListener("input", function (event) {
    var field = event.target.closest(".run-form .field.has-error");
    if (!field) { return; }
    field.classList.remove("has-error");
    field.querySelectorAll(".field-error").forEach(function (error) { error.remove(); });
    event.target.setAttribute("aria-invalid", "false");
  });
})();

// A "Copy" button (data-copy="<id>") copies the value of that input, or the text of that
// element; where the clipboard is not offered (plain http), it selects the text to copy by hand.
(function () {
  "use strict";

  function showCopied(button, text) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    setTimeout(function () { button.textContent = label; }, 2000);
  }

  function selectText(source) {
    if (source.select) {
      source.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    var source = button && document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.tagName === "INPUT" || source.tagName === "TEXTAREA" ? source.value : source.textContent;
    var byHand = function () {
      selectText(source);
      showCopied(button, "Press Ctrl+C");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { showCopied(button, "Copied"); }, byHand);
    } else {
      byHand();
    }
  });
})();

// Times in the viewer's own zone, which only the browser knows: an element with
// data-local-time="<ISO 8601 time>" shows that time as "(your time: …)", and nothing when its
// data-zone already is the viewer's zone. Without this script it keeps what the server wrote.
(function () {
  "use strict";

  var FORMAT = {
    weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23", timeZoneName: "short"
  };

  function showLocalTimes(root) {
    var viewer = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var format = new Intl.DateTimeFormat(undefined, FORMAT);
    root.querySelectorAll("[data-local-time]").forEach(function (element) {
      var at = new Date(element.getAttribute("data-local-time"));
      if (isNaN(at.getTime())) {
        return;
      }
      var same = element.getAttribute("data-zone") === viewer;
      element.textContent = same ? "" : "(your time: " + format.format(at) + ")";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showLocalTimes(document); });
  document.addEventListener("htmx:load", function (event) { showLocalTimes(event.target); });
})();
