"""Editors made of rows (a template's survey variables, vaults and arguments): the buttons
that add, remove and move rows, done by the server when the page runs without JavaScript.

Rows are WTForms FieldLists, named as WTForms names them (survey_vars-1-values-0-name). Each
button is a submit button `row_action` whose value names the list, the row and what to do:
"survey_vars-add", "survey_vars-1-up", "survey_vars-1-values-0-remove". static/js/editors.js
does the same in the page, without a request.
"""

from __future__ import annotations

import re

from flask import request
from wtforms import FieldList, FormField
from wtforms.form import BaseForm

ROW_ACTION = "row_action"
_ACTION = re.compile(r"^(?P<list>[\w-]+?)(?:-(?P<index>\d+))?-(?P<op>add|remove|up|down)$")


def apply_row_action(form: BaseForm) -> bool:
    """Carry out the row button the form was sent with; False when it was not sent with one
    (or the button names no list of the form). Nothing is saved either way."""
    match = _ACTION.match(request.form.get(ROW_ACTION, "")) if request.method == "POST" else None
    if match is None:
        return False
    rows = _list_named(form, match["list"])
    index = int(match["index"]) if match["index"] is not None else None
    if rows is None or (match["op"] == "add") != (index is None):
        return False
    if match["op"] == "add":
        rows.append_entry()
        return True
    data = list(rows.data)
    if index >= len(data):
        return False
    if match["op"] == "remove":
        data.pop(index)
    else:
        other = index - 1 if match["op"] == "up" else index + 1
        if 0 <= other < len(data):
            data[index], data[other] = data[other], data[index]
    # Entries are named by position: process the list again so that the names follow.
    rows.process(None, data=data)
    return True


def _list_named(form: BaseForm, name: str) -> FieldList | None:
    """The FieldList of the form, or of one of its rows, with this name."""
    current = form
    field = None
    for part in re.split(r"-(?=\d)|(?<=\d)-", name):
        if part.isdigit():
            if not isinstance(field, FieldList) or int(part) >= len(field.entries):
                return None
            entry = field.entries[int(part)]
            if not isinstance(entry, FormField):
                return None
            current = entry.form
            field = None
        else:
            field = current._fields.get(part) if current is not None else None
            if field is None:
                return None
    return field if isinstance(field, FieldList) else None
