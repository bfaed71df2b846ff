"""The template list (/project/<id>/templates): who sees it, view tabs, search, app filter,
paging, each row's last task, bad query arguments; and the Key Store's "used by" column."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from semaphore.extensions import db
from semaphore.models import Integration, ProjectUser, TemplateVault
from tests import factories

HTMX = {"HX-Request": "true"}
ROW_RE = re.compile(r'data-testid="template-row-([^"]+)"')


def _html(response) -> str:
    return response.get_data(as_text=True)


def _rows(response) -> list[str]:
    return ROW_RE.findall(_html(response))


def _member(project, role: str):
    user = factories.user(username=f"{role}-member")
    db.session.add(ProjectUser(project_id=project.id, user_id=user.id, role=role))
    db.session.commit()
    return user


@pytest.fixture
def base(project) -> str:
    return f"/project/{project.id}/templates"


@pytest.fixture
def as_owner(web, owner):
    web.log_in(owner)
    return web


# --- who sees it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "runs"),
    [("admin", True), ("owner", True), ("manager", True), ("task_runner", True), ("guest", False)],
)
def test_members_and_admins_see_the_list(web, project, base, role, runs):
    factories.template(project=project, name="Deploy")
    if role == "admin":
        user = factories.user(username="root", admin=True)  # not a member: admins see all
    else:
        user = _member(project, role)
    web.log_in(user)
    response = web.get(base)
    html = _html(response)
    assert response.status_code == 200
    assert _rows(response) == ["Deploy"]
    assert 'data-testid="template-search"' in html
    assert ('data-testid="run-template-Deploy"' in html) is runs
    assert ('data-testid="edit-template-Deploy"' in html) is (role in ("admin", "owner", "manager"))


def test_a_non_member_gets_404(web, project, base):
    factories.template(project=project, name="Deploy")
    web.log_in(factories.user(username="stranger"))
    response = web.get(f"{base}?q=Deploy")
    assert response.status_code == 404
    assert _rows(response) == []


def test_anonymous_visitors_are_sent_to_log_in(web, project, base):
    response = web.get(f"{base}?page=2")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# --- search, filters, tabs, paging -----------------------------------------------------------


def test_search_matches_name_playbook_and_description_in_any_case(as_owner, project, base):
    factories.template(project=project, name="Deploy web", playbook="web.yml")
    factories.template(project=project, name="Backup", playbook="db/BACKUP.yml")
    factories.template(project=project, name="Rotate", description="Rotates the WEB logs")
    factories.template(project=project, name="100% done", playbook="x.yml")
    assert _rows(as_owner.get(f"{base}?q=web")) == ["Deploy web", "Rotate"]
    assert _rows(as_owner.get(f"{base}?q=backup.YML")) == ["Backup"]
    # A typed % is looked for as itself, not as a LIKE wildcard.
    assert _rows(as_owner.get(f"{base}?q=%25")) == ["100% done"]
    assert _rows(as_owner.get(f"{base}?q=+ROTATE+")) == ["Rotate"]


def test_no_match_says_so_with_a_link_that_clears_the_filters(as_owner, project, base):
    factories.template(project=project, name="Deploy", app="bash")
    view = factories.view(project=project, title="Ops")
    response = as_owner.get(f"{base}?q=nothing&app=bash&view={view.id}")
    html = _html(response)
    assert response.status_code == 200 and _rows(response) == []
    assert "No templates match “nothing” with app Bash in view Ops." in html
    clear = re.search(r'href="([^"]+)" data-testid="clear-filters"', html).group(1)
    assert clear == f"{base}?view={view.id}"


def test_an_empty_project_says_no_templates_yet(as_owner, project, base):
    html = _html(as_owner.get(base))
    assert "No templates yet." in html and 'data-testid="template-pager"' not in html


def test_view_tabs_filter_by_view_in_position_order(as_owner, project, base):
    second = factories.view(project=project, title="Second", position=2)
    first = factories.view(project=project, title="First", position=1)
    factories.view(project=project, title="Secret", position=3, hidden=True)
    everything = factories.view(project=project, title="Everything", position=4, type="all")
    factories.template(project=project, name="A", view_id=first.id)
    factories.template(project=project, name="B", view_id=second.id)
    factories.template(project=project, name="C")
    html = _html(as_owner.get(base))
    tabs = re.findall(r'data-testid="view-tab-([^"]+)"', html)
    # A view of type "all" stands for All, so no extra All tab; a hidden view is no tab.
    assert tabs == ["First", "Second", "Everything"]
    assert _rows(as_owner.get(f"{base}?view={first.id}")) == ["A"]
    assert _rows(as_owner.get(f"{base}?view={second.id}")) == ["B"]
    assert _rows(as_owner.get(f"{base}?view={everything.id}")) == ["A", "B", "C"]
    html = _html(as_owner.get(f"{base}?view={second.id}"))
    assert re.findall(r'data-testid="view-tab-([^"]+)"\s+aria-current="page"', html) == ["Second"]


def test_a_views_sort_orders_its_tab(as_owner, project, base):
    view = factories.view(project=project, title="Ops", sort_column="playbook", sort_reverse=True)
    for name, playbook in (("A", "b.yml"), ("B", "c.yml"), ("C", "a.yml")):
        factories.template(project=project, name=name, playbook=playbook, view_id=view.id)
    assert _rows(as_owner.get(f"{base}?view={view.id}")) == ["B", "A", "C"]
    assert _rows(as_owner.get(base)) == ["A", "B", "C"]


def test_without_an_all_view_the_first_tab_is_all(as_owner, project, base):
    view = factories.view(project=project, title="Ops")
    html = _html(as_owner.get(f"{base}?q=x"))
    assert re.findall(r'data-testid="view-tab-([^"]+)"', html) == ["all", "Ops"]
    # Tabs keep the search, and start at the first page.
    assert f'href="{base}?view={view.id}&amp;q=x"' in html


def test_app_filter_lists_the_apps_present_and_filters(as_owner, project, base):
    factories.template(project=project, name="Play", app="ansible")
    factories.template(project=project, name="Plan", app="terraform")
    factories.template(project=project, name="Shell", app="bash")
    html = _html(as_owner.get(base))
    select = re.search(r'<select name="app".*?</select>', html, re.S).group(0)
    assert re.findall(r'option value="([^"]*)"', select) == ["", "ansible", "bash", "terraform"]
    assert _rows(as_owner.get(f"{base}?app=terraform")) == ["Plan"]


def test_paging_by_20_by_default_and_by_the_chosen_size(as_owner, project, base):
    repository = factories.repository(project=project)
    inventory = factories.inventory(project=project)
    for n in range(45):
        factories.template(
            project=project,
            name=f"T{n:03d}",
            repository_id=repository.id,
            inventory_id=inventory.id,
        )
    first = as_owner.get(base)
    assert _rows(first) == [f"T{n:03d}" for n in range(20)]
    html = _html(first)
    assert "Page 1 of 3 · 45 templates" in html
    assert f'href="{base}?page=2" data-testid="templates-next"' in html
    assert 'data-testid="templates-prev"' not in html
    third = as_owner.get(f"{base}?page=3")
    assert _rows(third) == [f"T{n:03d}" for n in range(40, 45)]
    assert 'data-testid="templates-next"' not in _html(third)
    assert len(_rows(as_owner.get(f"{base}?per_page=50"))) == 45
    assert _rows(as_owner.get(f"{base}?per_page=10&page=2")) == [f"T{n:03d}" for n in range(10, 20)]
    past = as_owner.get(f"{base}?page=9")
    assert past.status_code == 200 and _rows(past) == []
    assert "Page 9 is past the last page (3)." in _html(past)


def test_an_htmx_request_gets_the_list_alone(as_owner, project, base):
    factories.template(project=project, name="Deploy")
    response = as_owner.get(f"{base}?q=dep", headers=HTMX)
    html = _html(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<div id="template-list"')
    assert "<html" not in html and _rows(response) == ["Deploy"]
    # The rows poll the URL of the state they show.
    assert f'hx-get="{base}?q=dep" hx-trigger="every 10s"' in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("page=abc", "page", "page must be a whole number from 1"),
        ("page=0", "page", "page must be a whole number from 1"),
        ("page=-1", "page", "page must be a whole number from 1"),
        ("page=99999999999999999999", "page", "page must be a whole number from 1"),
        ("per_page=7", "per_page", "per_page must be 10, 20, 50 or 100"),
        ("per_page=abc", "per_page", "per_page must be 10, 20, 50 or 100"),
        ("view=999", "view", "View 999 does not exist in this project"),
        ("view=abc", "view", "View abc does not exist in this project"),
        ("app=cobol", "app", "Unknown app cobol"),
    ],
)
def test_bad_query_arguments_are_named_and_the_list_still_shows(
    as_owner, project, base, query, field, message
):
    factories.template(project=project, name="Deploy")
    for headers in ({}, HTMX):
        response = as_owner.get(f"{base}?{query}", headers=headers)
        html = _html(response)
        assert response.status_code == 422
        assert f'data-testid="error-{field}">{message}</div>' in html
        assert _rows(response) == ["Deploy"]


def test_a_view_of_another_project_is_refused(as_owner, project, base):
    other = factories.view(project=factories.project())
    factories.template(project=project, name="Deploy")
    response = as_owner.get(f"{base}?view={other.id}")
    assert response.status_code == 422 and _rows(response) == ["Deploy"]


# --- last task ---------------------------------------------------------------------------------


def test_each_row_shows_its_last_task_and_polls_fast_while_one_runs(as_owner, owner, project, base):
    done = factories.template(project=project, name="Done")
    busy = factories.template(project=project, name="Busy")
    factories.template(project=project, name="Never")
    factories.task(of=done, status="error", user_id=owner.id)
    last_done = factories.task(of=done, status="success", user_id=owner.id)
    running = factories.task(of=busy, status="running")
    html = _html(as_owner.get(base))
    assert (
        f'href="/project/{project.id}/tasks/{last_done.id}" data-testid="last-task-link-Done"'
        in html
    )
    assert 'data-testid="last-task-status-Done" data-status="success"' in html
    assert 'data-testid="last-task-status-Busy" data-status="running"' in html
    assert f'data-testid="last-task-link-Busy">#{running.id}' in html
    assert "Olive Owner" in re.search(r'data-testid="last-task-Done".*?</td>', html, re.S).group(0)
    assert re.search(r'data-testid="last-task-Never">\s*<span class="muted">—', html)
    assert 'hx-trigger="every 3s"' in html
    running.status = "success"
    db.session.commit()
    html = _html(as_owner.get(base, headers=HTMX))
    assert 'data-testid="last-task-status-Busy" data-status="success"' in html
    assert 'hx-trigger="every 10s"' in html


# --- statements --------------------------------------------------------------------------------


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _fill(project, owner, n: int) -> None:
    view = factories.view(project=project, title=f"View {n}")
    for i in range(n):
        template = factories.template(project=project, name=f"T{n}-{i}", view_id=view.id)
        schedule = factories.schedule(project=project, template_id=template.id)
        factories.task(of=template, status="running", user_id=owner.id)
        factories.task(of=template, status="success", schedule_id=schedule.id)


def test_statements_do_not_grow_with_rows(as_owner, owner, project, base):
    counts = []
    for n in (2, 12):
        _fill(project, owner, n)
        url = f"{base}?q=T{n}-&per_page=50"
        as_owner.get(url)  # warm: the first request of a session loads more
        with _statements() as seen:
            response = as_owner.get(url)
        assert len(_rows(response)) == n
        counts.append(len(seen))
    assert counts[0] == counts[1]


# --- keys: used by -------------------------------------------------------------------------------


def _key_world(project):
    used = factories.key(project=project, name="shared")
    spare = factories.key(project=project, name="spare")
    repository = factories.repository(project=project, name="site-repo", ssh_key_id=used.id)
    inventory = factories.inventory(project=project, name="prod", become_key_id=used.id)
    template = factories.template(
        project=project,
        name="Vaulted",
        repository_id=repository.id,
        inventory_id=inventory.id,
    )
    db.session.add(
        TemplateVault(project_id=project.id, template_id=template.id, vault_key_id=used.id)
    )
    hook = Integration(
        project_id=project.id, template_id=template.id, name="Hook", auth_secret_id=used.id
    )
    db.session.add(hook)
    db.session.commit()
    return used, spare, repository, inventory, template, hook


def test_keys_page_lists_what_uses_each_key_with_links(as_owner, project):
    used, spare, repository, inventory, template, hook = _key_world(project)
    html = _html(as_owner.get(f"/project/{project.id}/keys"))
    cell = re.search(r'data-testid="key-used-by-shared">(.*?)</td>', html, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)"[^>]*data-testid="key-user-shared-([^"]+)"', cell)
    pid = project.id
    assert links == [
        (f"/project/{pid}/templates/{template.id}", "template-Vaulted"),
        (f"/project/{pid}/inventory/{inventory.id}/edit", "inventory-prod"),
        (f"/project/{pid}/repositories/{repository.id}/edit", "repository-site-repo"),
        (f"/project/{pid}/integrations/{hook.id}", "integration-Hook"),
    ]
    spare_cell = re.search(r'data-testid="key-used-by-spare">(.*?)</td>', html, re.S).group(1)
    assert "not in use" in spare_cell


def test_a_guest_gets_links_to_pages_a_guest_may_open(web, project):
    _, _, repository, inventory, template, hook = _key_world(project)
    web.log_in(_member(project, "guest"))
    html = _html(web.get(f"/project/{project.id}/keys"))
    pid = project.id
    assert f'href="/project/{pid}/repositories" class="key-user"' in html
    assert f'href="/project/{pid}/inventory" class="key-user"' in html
    assert f'href="/project/{pid}/templates/{template.id}" class="key-user"' in html
    assert f'href="/project/{pid}/integrations/{hook.id}" class="key-user"' in html
    for url in re.findall(r'href="([^"]+)" class="key-user"', html):
        assert web.get(url).status_code == 200, url


def test_the_used_by_column_costs_no_query_per_key(as_owner, project):
    counts = []
    for n in (2, 10):
        for _ in range(n):
            _key_world(project)
        as_owner.get(f"/project/{project.id}/keys")
        with _statements() as seen:
            html = _html(as_owner.get(f"/project/{project.id}/keys"))
        assert html.count('data-kind="integration"') >= n
        counts.append(len(seen))
    assert counts[0] == counts[1]
