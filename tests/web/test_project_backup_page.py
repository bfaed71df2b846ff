"""Backup download and restore upload on the project settings page (the API's services)."""

from __future__ import annotations

import io
import json

import pytest

from semaphore.extensions import db
from semaphore.models import Project, ProjectUser, Template
from tests import factories
from tests.web.helpers import csrf_token


def restore(web, project_id: int, content: bytes, filename: str = "backup.json"):
    settings = f"/project/{project_id}/settings"
    token = csrf_token(web.get(settings).get_data(as_text=True))
    return web.post(
        f"{settings}/restore",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_a_downloaded_backup_restores_into_a_new_project(web, app, owner, project, admin_api):
    factories.template(project=project, name="Deploy web", playbook="site.yml")
    web.log_in(owner)
    page = web.get(f"/project/{project.id}/settings").get_data(as_text=True)
    assert 'data-testid="download-backup"' in page and 'data-testid="restore-form"' in page

    download = web.get(f"/project/{project.id}/settings/backup")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == 'attachment; filename="Apollo-backup.json"'
    # The same document as the API's backup.
    assert download.get_json() == admin_api.get(f"/api/project/{project.id}/backup").get_json()

    restored = restore(web, project.id, download.data)
    assert restored.status_code == 303
    copy = db.session.query(Project).filter(Project.id != project.id).one()
    assert restored.headers["Location"] == f"/project/{copy.id}"
    assert copy.name == "Apollo"
    assert db.session.query(Template).filter_by(project_id=copy.id).one().name == "Deploy web"
    assert db.session.query(ProjectUser).filter_by(project_id=copy.id).one().user_id == owner.id
    landing = web.get(f"/project/{copy.id}/settings").get_data(as_text=True)
    assert "Project Apollo restored from the backup" in landing


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "Choose a backup file (.json) to restore"),
        (b"\xff\xfe\x00garbage", "The file is not a backup: it is not text (UTF-8)"),
        (b"{not json", "The file is not a backup: it is not JSON (Expecting property name"),
        (b"[1, 2]", "The file is not a valid backup: "),
        (json.dumps({"meta": {}}).encode(), "The file is not a valid backup: "),
    ],
)
def test_a_bad_file_is_refused_at_the_field(web, app, owner, project, content, message):
    web.log_in(owner)
    response = restore(web, project.id, content)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-testid="error-file"' in html and message in html
    assert db.session.query(Project).count() == 1
    # The page is whole: the settings form still shows the project's values.
    assert 'value="Apollo"' in html


@pytest.mark.parametrize("role", ["owner", "manager", "task_runner", "guest"])
def test_every_member_may_download_and_restore(web, app, project, role):
    member = factories.user(username=f"m-{role}", email=f"{role}@example.com")
    db.session.add(ProjectUser(project_id=project.id, user_id=member.id, role=role))
    db.session.commit()
    web.log_in(member)
    download = web.get(f"/project/{project.id}/settings/backup")
    assert download.status_code == 200
    assert restore(web, project.id, download.data).status_code == 303
    assert db.session.query(Project).count() == 2


def test_an_admin_non_member_is_allowed(web, app, project):
    web.log_in(factories.user(admin=True, username="root", email="root@example.com"))
    download = web.get(f"/project/{project.id}/settings/backup")
    assert download.status_code == 200
    assert restore(web, project.id, download.data).status_code == 303


def test_non_members_and_anonymous_get_nothing(web, app, project, owner):
    outsider = factories.user(username="outsider", email="out@example.com")
    anonymous = web.get(f"/project/{project.id}/settings/backup")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    web.log_in(outsider)
    assert web.get(f"/project/{project.id}/settings/backup").status_code == 404
    # The outsider's form token is taken from a page they may see (their account).
    token = csrf_token(web.get("/account").get_data(as_text=True))
    refused = web.post(
        f"/project/{project.id}/settings/restore",
        data={"csrf_token": token, "file": (io.BytesIO(b"{}"), "b.json")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 404
    assert db.session.query(Project).count() == 1
