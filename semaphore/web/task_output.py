"""A task's output on its page: the tail it opens on, earlier blocks above it, search, and the
stylesheet of the ANSI colours.

The page follows new lines over the /api/ws WebSocket (static/js/task_log.js); these routes
serve what the page shows before and around them.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from flask import Response, request, url_for
from flask_login import login_required
from markupsafe import Markup

from semaphore.errors import ValidationError
from semaphore.live.ansi import line_html, stylesheet
from semaphore.models import FINISHED_STATUSES, isoformat, utcnow
from semaphore.services import tasks
from semaphore.services.permissions import ProjectAccess
from semaphore.web.blueprint import web_blueprint
from semaphore.web.htmx import render
from semaphore.web.project_resources import project_scope

TAIL_LINES = 2000  # the page opens on this many last lines
EARLIER_LINES = 2000  # "Load earlier lines" adds this many
SEARCH_PAGE = 100
ANSI_CSS_MAX_AGE = 24 * 3600

# In line_html's output: a tag, an entity, or one character of text.
_HTML_TOKENS = re.compile(r"<[^>]*>|&#?\w+;|.", re.DOTALL)


def output_context(access: ProjectAccess, task_id: int) -> dict:
    """What the task page needs to show its output: the last lines and the live script's
    configuration."""
    lines = tasks.output_tail(access, task_id, TAIL_LINES)
    return {
        "lines": lines,
        "first_seq": lines[0].seq if lines else 1,
        "last_seq": lines[-1].seq if lines else 0,
        "line_html": line_html,
        "finished_statuses": " ".join(FINISHED_STATUSES),
        "server_now": isoformat(utcnow()),
        "ws_url": _socket_path(task_id),
        "earlier_url": _earlier_url(access.project_id, task_id),
        "search_url": url_for(
            "web.task_output_search", project_id=access.project_id, task_id=task_id
        ),
    }


def _socket_path(task_id: int) -> str:
    # url_for gives a WebSocket route as an absolute ws:// URL; the script picks ws: or wss:
    # and the host as the page has them.
    url = urlsplit(url_for("api.live_socket", task_id=task_id, html=1))
    return f"{url.path}?{url.query}"


def _earlier_url(project_id: int, task_id: int) -> str:
    return url_for("web.task_output_before", project_id=project_id, task_id=task_id)


@web_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/output/before")
@login_required
def task_output_before(project_id: int, task_id: int) -> Response:
    """The block of lines just before line ?seq=, with the control for the block before it.

    ?from= asks for the lines from that one on instead (a search hit far above), capped by
    the service.
    """
    access = project_scope(project_id)
    before = request.args.get("seq", default=1, type=int)
    start = request.args.get("from", default=before - EARLIER_LINES, type=int)
    lines = tasks.output_before(access, task_id, before, before - max(start, 1))
    return render(
        "projects/tasks/_log_earlier_block.html",
        lines=lines,
        first_seq=lines[0].seq if lines else 1,
        line_html=line_html,
        earlier_url=_earlier_url(project_id, task_id),
    )


@web_blueprint.get("/project/<int:project_id>/tasks/<int:task_id>/output/search")
@login_required
def task_output_search(project_id: int, task_id: int) -> Response:
    """Lines containing ?q=, a page at a time: the results box, or with ?after= the next
    page of hits. An empty or too long query answers 422 with the message."""
    access = project_scope(project_id)
    query = request.args.get("q", "")
    after = request.args.get("after", type=int)
    partial = "_search_hits.html" if after is not None else "_search_results.html"
    context = {"query": query, "hits": [], "next_after": None, "error": None}
    try:
        lines, next_after = tasks.search_output(access, task_id, query, after or 0, SEARCH_PAGE)
    except ValidationError as exc:
        return render(f"projects/tasks/{partial}", status=422, **{**context, "error": exc.message})
    context.update(
        hits=[(line, highlight(line_html(line.output), query)) for line in lines],
        next_after=next_after,
        search_url=url_for("web.task_output_search", project_id=project_id, task_id=task_id),
    )
    return render(f"projects/tasks/{partial}", **context)


@web_blueprint.get("/ansi.css")
def ansi_css() -> Response:
    """The classes of the output's ANSI colours (the log pane re-tunes them in app.css)."""
    response = Response(stylesheet(), mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = ANSI_CSS_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


def highlight(line: Markup, query: str) -> Markup:
    """The rendered line with each occurrence of `query` (any case) in <mark>.

    Matches are found in the text as shown (tags left out, entities read as their
    character), and a mark never spans a tag, so the markup stays well nested and the text
    stays as line_html escaped it.
    """
    tokens = _HTML_TOKENS.findall(str(line))
    # The shown text, case-folded, and for each of its characters the token it comes from.
    folded: list[str] = []
    owners: list[int] = []
    for index, token in enumerate(tokens):
        if not token.startswith("<"):
            for char in html.unescape(token).casefold():
                folded.append(char)
                owners.append(index)
    text, needle = "".join(folded), query.casefold()
    marked: set[int] = set()
    start = text.find(needle) if needle else -1
    while start >= 0:
        marked.update(owners[start : start + len(needle)])
        start = text.find(needle, start + len(needle))
    parts: list[str] = []
    open_mark = False
    for index, token in enumerate(tokens):
        if open_mark and index not in marked:
            parts.append("</mark>")
            open_mark = False
        if index in marked and not open_mark:
            parts.append("<mark>")
            open_mark = True
        parts.append(token)
    if open_mark:
        parts.append("</mark>")
    return Markup("".join(parts))
