"""ANSI colour codes to escaped HTML spans (ansi2html), one output line at a time."""

from __future__ import annotations

import threading
from functools import lru_cache

from ansi2html import Ansi2HTMLConverter
from markupsafe import Markup, escape

_local = threading.local()


def _converter() -> Ansi2HTMLConverter:
    # A converter keeps state while converting: one per thread.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = Ansi2HTMLConverter(inline=False, escaped=True, dark_bg=True)
    return converter


def line_html(text: str) -> Markup:
    """One line as HTML: its text escaped, its colours as `ansiNN` classes.

    Each line starts with no colour, as the tools we run reset colours at each line end.
    """
    if "\x1b" not in text:
        return escape(text)
    return Markup(_converter().convert(text, full=False))


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The CSS for the classes line_html uses (ansi2html's own palette)."""
    headers = _converter().produce_headers()
    return headers.replace('<style type="text/css">', "").replace("</style>", "").strip() + "\n"
