"""`?page=<p>&limit=<n>` on the list routes (an addition): a page of the same sorted list, read
in SQL; the body still a plain array, the total in X-Total-Count, the neighbours in Link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import event

from semaphore.extensions import db
from semaphore.models import Event, Task, User, utcnow
from tests import factories

ROWS = 5


def _project(member: User):
    return factories.project(members={member: "owner"})


def _templates(member: User) -> str:
    project = _project(member)
    # Names repeat: the id breaks the ties, so pages never overlap.
    for i in range(ROWS):
        factories.template(project=project, name=f"T{i % 2}")
    return f"/api/project/{project.id}/templates"


def _tasks(member: User) -> str:
    project = _project(member)
    template = factories.template(project=project)
    now = utcnow()
    # Two tasks share a creation time: the id decides their order.
    offsets = [0, 0, 1, 2, -5]
    db.session.add_all(
        Task(
            template_id=template.id,
            project_id=project.id,
            user_id=member.id,
            status="success",
            playbook="",
            created=now + timedelta(seconds=seconds),
        )
        for seconds in offsets
    )
    db.session.commit()
    return f"/api/project/{project.id}/tasks"


def _keys(member: User) -> str:
    project = _project(member)
    for _ in range(ROWS):
        factories.key(project=project, name="same name")
    return f"/api/project/{project.id}/keys"


def _inventories(member: User) -> str:
    project = _project(member)
    for _ in range(ROWS):
        factories.inventory(project=project)
    return f"/api/project/{project.id}/inventory"


def _repositories(member: User) -> str:
    project = _project(member)
    key = factories.key(project=project)
    for _ in range(ROWS):
        factories.repository(project=project, ssh_key_id=key.id)
    return f"/api/project/{project.id}/repositories"


def _environments(member: User) -> str:
    project = _project(member)
    for _ in range(ROWS):
        factories.environment(project=project)
    return f"/api/project/{project.id}/environment"


def _views(member: User) -> str:
    project = _project(member)
    for i in range(ROWS):
        factories.view(project=project, position=i % 2)
    return f"/api/project/{project.id}/views"


def _schedules(member: User) -> str:
    project = _project(member)
    template = factories.template(project=project)
    for _ in range(ROWS):
        factories.schedule(project=project, template_id=template.id)
    return f"/api/project/{project.id}/schedules"


def _members(member: User) -> str:
    others = {factories.user(name="Same"): "guest" for _ in range(ROWS - 1)}
    project = factories.project(members={member: "owner", **others})
    return f"/api/project/{project.id}/users"


def _project_events(member: User) -> str:
    project = _project(member)
    db.session.add_all(
        Event(project_id=project.id, user_id=member.id, description=f"event {i}")
        for i in range(ROWS)
    )
    db.session.commit()
    return f"/api/project/{project.id}/events"


def _events(member: User) -> str:
    _project_events(member)
    return "/api/events"


def _projects(member: User) -> str:
    for _ in range(ROWS):
        factories.project(members={member: "guest"}, name="Same")
    return "/api/projects"


def _users(member: User) -> str:
    for _ in range(ROWS - 1):
        factories.user()
    return "/api/users"


# Each list: makes 5 rows the member can see (and nothing else there) and gives the list's URL.
LISTS: dict[str, Callable[[User], str]] = {
    "templates": _templates,
    "tasks": _tasks,
    "keys": _keys,
    "inventory": _inventories,
    "repositories": _repositories,
    "environment": _environments,
    "views": _views,
    "schedules": _schedules,
    "project users": _members,
    "project events": _project_events,
    "events": _events,
    "projects": _projects,
    "users": _users,
}


@pytest.fixture(params=sorted(LISTS))
def listed(request, user_api) -> str:
    return LISTS[request.param](user_api.user)


def _ids(response) -> list:
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = response.get_json()
    assert isinstance(rows, list)  # still the plain array the original's clients expect
    # Project users have no id of their own in some shapes; events are told by description.
    return [row.get("id", row.get("description")) for row in rows]


def _links(response) -> dict[str, dict[str, str]]:
    """{rel: query arguments} of the Link header."""
    found = {}
    for part in filter(None, (response.headers.get("Link") or "").split(",")):
        url, rel = part.split(";")
        assert rel.strip().startswith('rel="')
        found[rel.strip()[5:-1]] = dict(parse_qsl(urlsplit(url.strip()[1:-1]).query))
    return found


def test_pages_cut_the_whole_list_in_order(user_api, listed):
    whole = user_api.get(listed)
    assert "X-Total-Count" not in whole.headers and "Link" not in whole.headers
    everything = _ids(whole)
    assert len(everything) == ROWS

    pages = [user_api.get(f"{listed}?limit=2&page={n}") for n in (1, 2, 3)]
    assert [len(_ids(page)) for page in pages] == [2, 2, 1]
    assert [row for page in pages for row in _ids(page)] == everything
    assert all(page.headers["X-Total-Count"] == str(ROWS) for page in pages)

    first, middle, last = (_links(page) for page in pages)
    assert first == {"next": {"page": "2", "limit": "2"}}
    assert middle == {"next": {"page": "3", "limit": "2"}, "prev": {"page": "1", "limit": "2"}}
    assert last == {"prev": {"page": "2", "limit": "2"}}
    # Links stay on the same route.
    assert pages[0].headers["Link"].startswith(f"<{listed}?")


def test_limit_alone_is_the_first_page_and_page_alone_has_100_rows(user_api, listed):
    first = user_api.get(f"{listed}?limit=3")
    assert len(_ids(first)) == 3 and first.headers["X-Total-Count"] == str(ROWS)
    alone = user_api.get(f"{listed}?page=1")
    assert len(_ids(alone)) == ROWS and alone.headers["X-Total-Count"] == str(ROWS)
    assert "Link" not in alone.headers


def test_a_page_past_the_end_is_empty_and_points_back_to_the_last(user_api):
    url = _keys(user_api.user)
    past = user_api.get(f"{url}?limit=2&page=9")
    assert _ids(past) == [] and past.headers["X-Total-Count"] == str(ROWS)
    assert _links(past) == {"prev": {"page": "3", "limit": "2"}}
    # So far past that an OFFSET would overflow a 64-bit integer: still an empty page.
    huge = user_api.get(f"{url}?limit=1000&page=999999999999999999")
    assert _ids(huge) == [] and huge.headers["X-Total-Count"] == str(ROWS)


@pytest.mark.parametrize(
    "query,name",
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=5000", "limit"),
        ("limit=1.5", "limit"),
        ("limit=%205", "limit"),
        ("page=0", "page"),
        ("page=-2&limit=2", "page"),
        ("page=x", "page"),
        ("page=99999999999999999999999", "page"),
    ],
)
@pytest.mark.parametrize("kind", ["templates", "tasks", "projects", "events"])
def test_bad_paging_arguments_are_400_naming_the_argument(user_api, kind, query, name):
    url = LISTS[kind](user_api.user)
    response = user_api.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(f"{name} must be")


def test_a_non_member_gets_404_before_the_arguments_are_read(user_api, app):
    url = _keys(factories.user())
    assert user_api.get(f"{url}?limit=abc").status_code == 404


def test_paging_keeps_the_filters_and_the_sort(user_api):
    project = _project(user_api.user)
    view = factories.view(project=project)
    for i in range(ROWS):
        factories.template(project=project, name=f"in {i}", view_id=view.id)
    factories.template(project=project, name="outside")
    base = f"/api/project/{project.id}/templates"

    query = f"sort=name&order=desc&view_id={view.id}"
    whole = _ids(user_api.get(f"{base}?{query}"))
    assert len(whole) == ROWS
    pages = [user_api.get(f"{base}?{query}&limit=2&page={n}") for n in (1, 2, 3)]
    assert [row for page in pages for row in _ids(page)] == whole
    assert pages[0].headers["X-Total-Count"] == str(ROWS)
    names = [row["name"] for row in pages[0].get_json()]
    assert names == ["in 4", "in 3"]
    next_args = _links(pages[0])["next"]
    assert next_args == {
        "sort": "name",
        "order": "desc",
        "view_id": str(view.id),
        "page": "2",
        "limit": "2",
    }

    keys = _project(user_api.user)
    for _ in range(ROWS):
        factories.key(project=keys)
    other = factories.key(project=keys, type="login_password", name="a login")
    keys_url = f"/api/project/{keys.id}/keys"
    assert len(_ids(user_api.get(keys_url))) == ROWS + 1
    last = user_api.get(f"{keys_url}?type=none&limit=2&page=3")
    assert len(_ids(last)) == 1 and last.headers["X-Total-Count"] == str(ROWS)
    assert other.id not in _ids(last)


def test_a_kept_templates_page_still_answers_its_total(user_api):
    # The templates list is kept per project between requests: a page keeps its total with it.
    url = _templates(user_api.user)
    first = user_api.get(f"{url}?limit=2&page=2")
    again = user_api.get(f"{url}?limit=2&page=2")
    assert _ids(again) == _ids(first) and len(_ids(again)) == 2
    assert again.headers["X-Total-Count"] == first.headers["X-Total-Count"] == str(ROWS)
    assert again.headers["Link"] == first.headers["Link"]
    # The whole list, kept beside its pages, is unchanged and has no total.
    whole = user_api.get(url)
    assert len(_ids(whole)) == ROWS and "X-Total-Count" not in whole.headers


def test_a_page_is_read_in_sql_with_one_count(user_api, app):
    url = _tasks(user_api.user)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lower())

    user_api.get(url)  # both requests below sign in alike (services/auth/token_cache.py)
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        whole_count = len(statements)
        user_api.get(url)
        unpaged = statements[whole_count:]
        start = len(statements)
        user_api.get(f"{url}?limit=2&page=2")
        paged = statements[start:]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    task_reads = [s for s in paged if "from task" in s and "count(" not in s]
    counts = [s for s in paged if "count(" in s]
    assert len(counts) == 1
    assert any("limit" in s and "offset" in s for s in task_reads)
    # The paged answer costs the whole list's statements plus the one count.
    assert len(paged) == len(unpaged) + 1
