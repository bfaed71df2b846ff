"""A task's output on its page: the tail it opens on, "load earlier", search with highlighted
hits, the state partial the live script swaps in, the ANSI stylesheet, and who may see them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from semaphore.extensions import db
from semaphore.live.ansi import line_html
from semaphore.models import ProjectUser, Task, utcnow
from semaphore.services.tasks import output as task_output
from semaphore.web.task_output import highlight
from tests import factories

HTMX = {"HX-Request": "true"}
SEQ_RE = re.compile(r'class="log-line" id="L(\d+)" data-seq="\1"')
HIT_RE = re.compile(r'data-log-hit="(\d+)"')


@pytest.fixture
def template(project):
    return factories.template(project=project, name="Deploy")


def _task(project, template, status: str = "success") -> Task:
    now = utcnow()
    task = Task(
        project_id=project.id,
        template_id=template.id,
        status=status,
        start=now - timedelta(seconds=30),
        end=now if status in ("success", "error", "stopped") else None,
    )
    db.session.add(task)
    db.session.commit()
    return task


def _store(task: Task, texts: list[str]) -> None:
    """Store the lines after the task's last one, as the job does."""
    now = utcnow()
    first = task_output.last_seq(task.id) + 1
    task_output.store_lines(task.id, first, [(now, text) for text in texts], task.project_id)
    db.session.commit()


def _html(response) -> str:
    return response.get_data(as_text=True)


def _seqs(html: str) -> list[int]:
    return [int(seq) for seq in SEQ_RE.findall(html)]


def _page(web, project, task) -> str:
    response = web.get(f"/project/{project.id}/tasks/{task.id}")
    assert response.status_code == 200
    return _html(response)


def _base(project, task) -> str:
    return f"/project/{project.id}/tasks/{task.id}"


# --- the tail and earlier blocks ---------------------------------------------------------------


def test_the_page_opens_on_the_last_2000_lines(web, owner, project, template):
    task = _task(project, template)
    _store(task, [f"line {n}" for n in range(1, 5001)])
    web.log_in(owner)
    page = _page(web, project, task)
    seqs = _seqs(page)
    assert seqs == list(range(3001, 5001))
    assert ">line 3001<" in page and ">line 3000<" not in page
    assert 'data-last-seq="5000"' in page
    assert f'hx-get="{_base(project, task)}/output/before?seq=3001"' in page
    assert "3,000 earlier lines" in page
    # The live script's configuration, the colours, the download; no inline script.
    assert f'data-ws-url="/api/ws?task_id={task.id}&amp;html=1"' in page
    assert f'data-state-url="{_base(project, task)}/state"' in page
    assert 'href="/ansi.css"' in page
    assert f'href="/api/project/{project.id}/tasks/{task.id}/raw_output"' in page
    assert 'src="/static/js/task_log.js"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "hx-trigger" not in page  # nothing polls


def test_load_earlier_returns_the_block_before_and_the_control_for_the_next(
    web, owner, project, template
):
    task = _task(project, template)
    _store(task, [f"line {n}" for n in range(1, 5001)])
    web.log_in(owner)
    path = f"{_base(project, task)}/output/before"
    block = _html(web.get(f"{path}?seq=3001", headers=HTMX))
    assert _seqs(block) == list(range(1001, 3001))
    assert f'hx-get="{path}?seq=1001"' in block and "1,000 earlier lines" in block
    assert block.index('data-testid="log-earlier"') < block.index('id="L1001"')
    first = _html(web.get(f"{path}?seq=1001", headers=HTMX))
    assert _seqs(first) == list(range(1, 1001))
    assert "log-earlier" not in first
    # A search hit far above asks for the lines from it on.
    window = _html(web.get(f"{path}?seq=3001&from=2990", headers=HTMX))
    assert _seqs(window) == list(range(2990, 3001))
    assert f'hx-get="{path}?seq=2990"' in window
    assert _seqs(_html(web.get(f"{path}?seq=1", headers=HTMX))) == []


def test_a_short_or_empty_log_has_no_earlier_lines(web, owner, project, template):
    empty = _task(project, template, "running")
    short = _task(project, template)
    _store(short, ["one", "two", "three"])
    web.log_in(owner)
    page = _page(web, project, empty)
    assert _seqs(page) == [] and "No output yet." in page
    assert 'data-last-seq="0"' in page and "log-earlier" not in page
    assert 'data-status="running"' in page
    page = _page(web, project, short)
    assert _seqs(page) == [1, 2, 3] and "log-earlier" not in page


def test_lines_are_escaped_and_coloured(web, owner, project, template):
    task = _task(project, template)
    _store(task, ["<script>window.__pwned = 1</script>", "\x1b[31mred alert\x1b[0m", "a & b"])
    web.log_in(owner)
    page = _page(web, project, task)
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert '<span class="ansi31">red alert</span>' in page
    assert "a &amp; b" in page and "\x1b" not in page


# --- search ------------------------------------------------------------------------------------


def test_search_pages_through_the_hits_and_highlights_them(web, owner, project, template):
    task = _task(project, template)
    texts = [f"line {n}" for n in range(1, 5001)]
    for n in range(10, 5001, 20):  # 250 hits
        texts[n - 1] = f"step {n}: Needle found"
    _store(task, texts)
    web.log_in(owner)
    path = f"{_base(project, task)}/output/search"
    first = web.get(f"{path}?q=NEEDLE", headers=HTMX)
    assert first.status_code == 200
    html = _html(first)
    assert [int(s) for s in HIT_RE.findall(html)] == list(range(10, 2000, 20))
    assert "<mark>Needle</mark> found" in html and 'href="#L10"' in html
    assert f'hx-get="{path}?q=NEEDLE&amp;after=1990"' in html
    second = _html(web.get(f"{path}?q=NEEDLE&after=1990", headers=HTMX))
    assert [int(s) for s in HIT_RE.findall(second)] == list(range(2010, 4000, 20))
    assert "log-search-results" not in second  # only rows, appended in place of the button
    third = _html(web.get(f"{path}?q=NEEDLE&after=3990", headers=HTMX))
    assert [int(s) for s in HIT_RE.findall(third)] == list(range(4010, 5001, 20))
    assert "log-search-more" not in third
    none = _html(web.get(f"{path}?q=nowhere", headers=HTMX))
    assert "No line contains <strong>nowhere</strong>" in none


def test_search_hits_stay_escaped(web, owner, project, template):
    task = _task(project, template)
    _store(task, ['<script>alert("x")</script> and \x1b[31mRED <b>\x1b[0m'])
    web.log_in(owner)
    path = f"{_base(project, task)}/output/search"
    html = _html(web.get(f"{path}?q=SCRIPT>", headers=HTMX))
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;<mark>script&gt;</mark>alert" in html
    html = _html(web.get(f"{path}?q=red <b", headers=HTMX))
    assert '<span class="ansi31"><mark>RED &lt;b</mark>&gt;</span>' in html
    html = _html(web.get(f"{path}?q=<i>", headers=HTMX))
    assert "No line contains <strong>&lt;i&gt;</strong>" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Enter something to search for"),
        ("   ", "Enter something to search for"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_a_bad_search_gives_a_form_message(web, owner, project, template, query, message):
    task = _task(project, template)
    _store(task, ["something"])
    web.log_in(owner)
    path = f"{_base(project, task)}/output/search"
    for url in (f"{path}?q={query}", f"{path}?q={query}&after=5"):
        response = web.get(url, headers=HTMX)
        assert response.status_code == 422
        assert message in _html(response) and 'data-testid="log-search-error"' in _html(response)


def test_highlight_marks_text_between_tags_in_any_case():
    assert highlight(line_html("Straße"), "SS") == "Stra<mark>ß</mark>e"
    assert highlight(line_html("\x1b[32mok\x1b[0m: [x]"), "K: [") == (
        '<span class="ansi32">o<mark>k</mark></span><mark>: [</mark>x]'
    )
    assert highlight(line_html("a<b A<B"), "a<b") == "<mark>a&lt;b</mark> <mark>A&lt;B</mark>"
    assert highlight(line_html("aaa"), "aa") == "<mark>aa</mark>a"


# --- the state partial, the stylesheet, who may see what --------------------------------------


def test_the_state_partial_has_the_details_and_the_buttons_out_of_band(
    web, owner, project, template
):
    task = _task(project, template, "running")
    web.log_in(owner)
    html = _html(web.get(f"{_base(project, task)}/state", headers=HTMX))
    assert 'id="task-details"' in html and 'data-status="running"' in html
    assert 'id="task-actions" class="task-actions" hx-swap-oob="true"' in html
    assert "task-stop" in html and "data-task-duration" in html
    task.status = "success"
    task.end = utcnow()
    db.session.commit()
    html = _html(web.get(f"{_base(project, task)}/state", headers=HTMX))
    assert 'data-status="success"' in html and "task-rerun" in html and "task-stop" not in html


def test_the_ansi_stylesheet_is_css_and_cacheable(client):
    response = client.get("/ansi.css")  # no login needed
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    css = _html(response)
    assert ".ansi31 {" in css and "<style" not in css
    assert response.cache_control.public and response.cache_control.max_age >= 3600
    again = client.get("/ansi.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("role", ["guest", "task_runner"])
def test_members_without_run_rights_read_and_search(web, project, template, role):
    user = factories.user(username=f"{role}-user")
    db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=role))
    db.session.commit()
    task = _task(project, template)
    _store(task, [f"line {n}" for n in range(1, 2101)])
    web.log_in(user)
    assert _seqs(_page(web, project, task))[0] == 101
    base = _base(project, task)
    assert _seqs(_html(web.get(f"{base}/output/before?seq=101", headers=HTMX)))[0] == 1
    assert HIT_RE.findall(_html(web.get(f"{base}/output/search?q=line 2100", headers=HTMX))) == [
        "2100"
    ]
    assert web.get(f"{base}/state", headers=HTMX).status_code == 200


def test_outsiders_get_404(web, project, template):
    task = _task(project, template)
    _store(task, ["secret line"])
    web.log_in(factories.user(username="stranger"))
    base = _base(project, task)
    for path in (
        base,
        f"{base}/state",
        f"{base}/output/before?seq=2",
        f"{base}/output/search?q=secret",
        f"{base}/output/search?q=",
    ):
        response = web.get(path, headers=HTMX)
        assert response.status_code == 404, path
        assert "secret line" not in _html(response)


def test_a_task_of_another_project_is_not_found(web, owner, project, template):
    other = factories.project(name="Other", members={owner: "owner"})
    task = _task(project, template)
    _store(task, ["line"])
    web.log_in(owner)
    base = f"/project/{other.id}/tasks/{task.id}"
    for path in (base, f"{base}/output/before?seq=2", f"{base}/output/search?q=line"):
        assert web.get(path, headers=HTMX).status_code == 404, path
