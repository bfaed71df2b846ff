// Row editors of the template form (templates/projects/templates/_editors.html): add, remove
// and move rows in the page. Every button is also a submit button that the server carries out
// when this script does not run (web/row_editors.py), so the markup works either way.
//
// A list of rows is an element data-rows="survey_vars" holding [data-row] children; a row's
// fields are named by position (survey_vars-1-name, survey_vars-1-values-0-value), so after
// any change the rows are renumbered. New rows are copies of <template data-row-template>,
// whose names start with the placeholder __list__-__index__.
(function () {
  "use strict";

  var PLACEHOLDER = "__list__-__index__";
  var RENAMED = ["name", "id", "for", "data-testid", "data-rows", "aria-describedby"];

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function rowsOf(list) {
    return Array.prototype.filter.call(list.children, function (child) {
      return child.hasAttribute("data-row");
    });
  }

  // Rename "<prefix>-<old index>" to "<prefix>-<index>" in every naming attribute of a row
  // (and of the rows nested in it), and in the values of its row buttons.
  function renumber(list) {
    var prefix = list.getAttribute("data-rows");
    var pattern = new RegExp("(^|[^\\w])" + escapeRegExp(prefix) + "-\\d+(?=$|[^\\w])", "g");
    rowsOf(list).forEach(function (row, index) {
      var replacement = "$1" + prefix + "-" + index;
      [row].concat(Array.prototype.slice.call(row.querySelectorAll("*"))).forEach(function (el) {
        RENAMED.forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) { el.setAttribute(attr, value.replace(pattern, replacement)); }
        });
        if (el.matches("button[name=row_action]")) {
          el.value = el.value.replace(pattern, replacement);
        }
      });
      var number = row.querySelector("[data-row-number]");
      if (number) { number.textContent = String(index + 1); }
    });
  }

  function fromTemplate(form, list) {
    var prefix = list.getAttribute("data-rows");
    var kind = prefix.split("-").pop();
    var template = form.querySelector('template[data-row-template="' + kind + '"]');
    var row = template.content.firstElementChild.cloneNode(true);
    var name = prefix + "-" + rowsOf(list).length;
    [row].concat(Array.prototype.slice.call(row.querySelectorAll("*"))).forEach(function (el) {
      Array.prototype.slice.call(el.attributes).forEach(function (attr) {
        if (attr.value.indexOf(PLACEHOLDER) !== -1) {
          el.setAttribute(attr.name, attr.value.split(PLACEHOLDER).join(name));
        }
      });
    });
    return row;
  }

  // Show the parts of a row that its type uses (data-row-when="enum select").
  function showForType(row) {
    var fields = row.querySelector(":scope > .row-fields");
    var select = fields && fields.querySelector('select[name$="-type"]');
    if (!select) { return; }
    row.querySelectorAll("[data-row-when]").forEach(function (part) {
      if (part.closest("[data-row]") !== row) { return; }
      part.hidden = part.getAttribute("data-row-when").split(/\s+/).indexOf(select.value) === -1;
    });
    // A secret's default is typed unseen, as its answer will be.
    var preset = fields.querySelector('input[name$="-default_value"]');
    if (preset) { preset.type = select.value === "secret" ? "password" : "text"; }
  }

  function focusFirst(row) {
    var input = row.querySelector("input:not([type=hidden]), select");
    if (input) { input.focus(); }
  }

  function act(button) {
    var action = button.getAttribute("data-row-action");
    var form = button.form;
    if (action === "add") {
      var list = button.closest("[data-editor], .editor-values").querySelector("[data-rows]");
      var added = fromTemplate(form, list);
      list.appendChild(added);
      renumber(list);
      showForType(added);
      focusFirst(added);
      return;
    }
    var row = button.closest("[data-row]");
    var rows = row.parentElement;
    if (action === "remove") {
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      if (next) { focusFirst(next); }
    } else if (action === "up" && row.previousElementSibling) {
      rows.insertBefore(row, row.previousElementSibling);
      button.focus();
    } else if (action === "down" && row.nextElementSibling) {
      rows.insertBefore(row.nextElementSibling, row);
      button.focus();
    }
    renumber(rows);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-row-action]");
    if (!button || !button.form) { return; }
    event.preventDefault();
    act(button);
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches('[data-row] select[name$="-type"]')) {
      showForType(event.target.closest("[data-row]"));
    }
  });

  function init(root) {
    root.querySelectorAll("[data-rows]").forEach(function (list) {
      rowsOf(list).forEach(showForType);
      renumber(list);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
