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

  // Flash messages fade after a few seconds, then leave: a faded one (and then its empty
  // list) would keep its place as an empty band above the page.
  function fadeFlashes(root) {
    root.querySelectorAll(".flash-success").forEach(function (flash) {
      setTimeout(function () { flash.classList.add("fade"); }, 4000);
      flash.addEventListener("transitionend", function () {
        var list = flash.parentElement;
        flash.remove();
        if (list && list.classList.contains("flashes") && !list.querySelector(".flash")) {
          list.remove();
        }
      });
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

// The shell below 960 px: the menu button slides the sidebar in over the page. Listeners sit
// on the document, so they keep working after hx-boost swaps the body (which closes the menu,
// as the new body is rendered closed).
(function () {
  "use strict";

  function setOpen(shell, open) {
    shell.classList.toggle("nav-open", open);
    shell.querySelectorAll("[data-nav-toggle]").forEach(function (button) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    if (open) {
      var first = shell.querySelector(".sidebar a");
      if (first) { first.focus(); }
    }
  }

  document.addEventListener("click", function (event) {
    var shell = document.querySelector("[data-shell]");
    if (!shell) { return; }
    if (event.target.closest("[data-nav-toggle]")) {
      setOpen(shell, !shell.classList.contains("nav-open"));
    } else if (event.target.closest("[data-nav-close]")) {
      setOpen(shell, false);
    }
  });

  document.addEventListener("keydown", function (event) {
    var shell = document.querySelector("[data-shell].nav-open");
    if (event.key === "Escape" && shell) {
      setOpen(shell, false);
      var button = shell.querySelector("[data-nav-toggle]");
      if (button) { button.focus(); }
    }
  });
})();

// The colour scheme is an attribute of <html>, which boosted navigation never swaps: a swapped
// body brings the scheme it was rendered with (data-color-scheme), e.g. after signing in. The
// theme switch in the user menu recolours at once, while htmx stores the choice.
(function () {
  "use strict";

  function apply(scheme) {
    document.documentElement.setAttribute("data-theme", scheme);
    var meta = document.querySelector("meta[name=color-scheme]");
    if (meta) { meta.setAttribute("content", scheme === "auto" ? "light dark" : scheme); }
  }

  document.addEventListener("htmx:load", function () {
    var rendered = document.querySelector("body > [data-color-scheme]");
    if (rendered) { apply(rendered.getAttribute("data-color-scheme")); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-theme-form]");
    var chosen = event.submitter && event.submitter.value;
    if (!form || !chosen) { return; }
    apply(chosen);
    var shell = document.querySelector("body > [data-color-scheme]");
    if (shell) { shell.setAttribute("data-color-scheme", chosen); }
    form.querySelectorAll("button[name=color_scheme]").forEach(function (button) {
      button.setAttribute("aria-pressed", button === event.submitter ? "true" : "false");
    });
  });
})();

// Tables on a phone become stacked rows (app.css): each cell gets its column's heading as
// data-label, which the stylesheet shows beside the value. Cells the server labelled keep theirs.
(function () {
  "use strict";

  function labelTable(table) {
    var heads = table.tHead && table.tHead.rows[0];
    if (!heads) { return; }
    var titles = [];
    Array.prototype.forEach.call(heads.cells, function (th) {
      for (var i = 0; i < th.colSpan; i++) { titles.push(th.textContent.trim()); }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          var title = titles[column];
          if (cell.colSpan === 1 && title && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", title);
          }
          column += cell.colSpan;
        });
      });
    });
  }

  function labelTables() {
    document.querySelectorAll("table.table").forEach(labelTable);
  }
  document.addEventListener("DOMContentLoaded", labelTables);
  // A swapped row or table is labelled too; its table's headings may lie outside the swap.
  document.addEventListener("htmx:load", labelTables);
})();

// Confirmations: an element's hx-confirm question is asked in a styled <dialog> (forms.css)
// instead of the browser's confirm(). Cancel, Escape or a click beside it keep everything as
// it was; the confirm button sends the request. Its label is the clicked button's own
// ("Delete", "Remove", "Reject").
(function () {
  "use strict";

  function confirmDialog() {
    var dialog = document.getElementById("confirm-dialog");
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "modal confirm-dialog";
    dialog.setAttribute("data-testid", "confirm-dialog");
    dialog.setAttribute("aria-labelledby", "confirm-question");
    var form = document.createElement("form");
    form.method = "dialog";
    var question = document.createElement("p");
    question.id = "confirm-question";
    question.className = "confirm-question";
    question.setAttribute("data-testid", "confirm-question");
    var actions = document.createElement("div");
    actions.className = "form-actions";
    [["cancel", "Cancel", ""], ["ok", "Confirm", "danger"]].forEach(function (spec) {
      var button = document.createElement("button");
      button.value = spec[0];
      button.textContent = spec[1];
      button.className = spec[2];
      button.setAttribute("data-testid", "confirm-" + spec[0]);
      actions.appendChild(button);
    });
    form.appendChild(question);
    form.appendChild(actions);
    dialog.appendChild(form);
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) { dialog.close("cancel"); }
    });
    document.body.appendChild(dialog);
    return dialog;
  }

  function labelOf(element) {
    var button = element.matches("button") ? element : element.querySelector("button[type=submit], button:not([type])");
    var text = button ? button.textContent.trim() : "";
    return text || "Confirm";
  }

  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    if (!question) { return; }
    event.preventDefault();
    var dialog = confirmDialog();
    dialog.querySelector("[data-testid=confirm-question]").textContent = question;
    dialog.querySelector("[data-testid=confirm-ok]").textContent = labelOf(event.detail.elt);
    dialog.returnValue = "";
    dialog.addEventListener("close", function answered() {
      dialog.removeEventListener("close", answered);
      if (dialog.returnValue === "ok") { event.detail.issueRequest(true); }
    });
    dialog.showModal();
    dialog.querySelector("[data-testid=confirm-cancel]").focus();
  });
})();
