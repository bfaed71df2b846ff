"""Post/redirect/get: no page URL a POST can leave in the address bar answers "405" to the
GET of a reload. POST-only (and DELETE-only) page URLs send a GET to the page they belong to."""

from __future__ import annotations

import re

from tests import factories

ID_RE = re.compile(r"<(?:int:)?(\w+)>")


def action_rules(app) -> list:
    """The pages' URLs that do not answer GET themselves (no rule of the URL does)."""
    rules = list(app.url_map.iter_rules())
    answer_get = {rule.rule for rule in rules if "GET" in rule.methods}
    return [
        rule
        for rule in rules
        if rule.endpoint.startswith("web.")
        and rule.rule not in answer_get
        and rule.methods & {"POST", "DELETE"}
    ]


def test_every_page_action_answers_a_get_with_its_page(web, app, project):
    admin = factories.user(admin=True, username="root", email="root@example.com")
    web.log_in(admin)
    template = factories.template(project=project)
    task = factories.task(of=template)
    ids = {"project_id": project.id, "task_id": task.id, "template_id": template.id}
    rules = action_rules(app)
    assert len(rules) > 20  # the list is real: the account, tasks, runners, integrations…
    for rule in rules:
        path = ID_RE.sub(lambda m: str(ids.get(m.group(1), 1)), rule.rule)
        response = web.get(path)
        assert response.status_code == 303, (rule.rule, response.status_code)
        target = response.headers["Location"]
        assert path.startswith(target.rstrip("/")) and target != path, (rule.rule, target)
        assert web.get(target).status_code != 405, (rule.rule, target)


def test_the_api_still_answers_405(web, app, admin_api):
    assert admin_api.client.get("/api/auth/logout").status_code == 405


def test_a_reload_of_the_account_actions_shows_the_account(web, app, owner):
    web.log_in(owner)
    for path in ("/account/tokens", "/account/2fa/begin", "/account/2fa/disable"):
        response = web.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert web.get("/project/1/tasks/5/stop").headers["Location"] == "/project/1/tasks/5"
    # A pending enrolment is shown again by the confirm page, which answers GET.
    assert web.get("/account/2fa/confirm").headers["Location"] == "/account"
