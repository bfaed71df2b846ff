"""Cron expressions of every kind, sent everywhere one is taken: POST and PUT …/schedules,
POST …/schedules/validate, the schedule form page and a restored template's `cron`.

Whatever the text, the answer is never a server error; a refusal carries its reason; and what
is stored is what the one parser (services.schedules.cron) accepts, so the scheduler can run it.
"""

from __future__ import annotations

import markupsafe
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from semaphore.schemas.cron import parse_cron
from tests import factories
from tests.web.helpers import Browser, csrf_token

HUGE = "@every 100000000000h"

# --- the expressions ----------------------------------------------------------------------------

MONTHS = ["jan", "FEB", "Mar", "dec", "xyz"]
DAYS = ["sun", "MON", "Fri", "sat", "funday"]
NUMBER = st.one_of(
    st.integers(-5, 70),
    st.integers(0, 10**30),
    st.sampled_from(["00", "+5", "-0", "1.5", "9" * 5000, "0x1f"]),
).map(str)
ATOM = st.one_of(NUMBER, st.sampled_from(["*", "?", *MONTHS, *DAYS]))
PART = st.one_of(
    ATOM,
    st.builds(lambda a, b: f"{a}-{b}", ATOM, ATOM),
    st.builds(lambda a, step: f"{a}/{step}", st.one_of(ATOM, st.just("*")), NUMBER),
    st.builds(lambda a, b, step: f"{a}-{b}/{step}", ATOM, ATOM, NUMBER),
)
FIELD = st.lists(PART, min_size=1, max_size=3).map(",".join)
FIVE_FIELDS = st.lists(FIELD, min_size=4, max_size=6).map(" ".join)
DESCRIPTOR = st.sampled_from(
    [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@reboot",
        "@",
        "@every",
        "@every ",
        "@DAILY",
    ]
)
AMOUNT = st.one_of(
    st.integers(0, 10**20).map(str),
    st.sampled_from(["100000000000", "1e400", "1e3", ".5", "1.", ".", "", "-1", "+2", "9" * 400]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
UNIT = st.sampled_from(["ns", "us", "µs", "μs", "ms", "s", "m", "h", "d", "", "H", "hh"])
DURATION = st.lists(st.builds(lambda n, u: f"{n}{u}", AMOUNT, UNIT), min_size=1, max_size=3).map(
    "".join
)
EVERY = DURATION.map(lambda duration: f"@every {duration}")
ZONE = st.sampled_from(
    [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Etc/GMT+5",
        "Mars/Olympus",
        "Europe",
        "Europe/",
        "",
        ".",
        "../../etc/passwd",
        "/etc/localtime",
        "a" * 300,
        "Local",
    ]
)
PREFIXED = st.builds(
    lambda key, zone, rest: f"{key}={zone} {rest}",
    st.sampled_from(["CRON_TZ", "TZ"]),
    ZONE,
    st.one_of(FIVE_FIELDS, DESCRIPTOR, EVERY),
)
CRON = st.one_of(st.text(max_size=40), FIVE_FIELDS, DESCRIPTOR, EVERY, PREFIXED)

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def parses(text: str) -> bool:
    try:
        parse_cron(text)
    except ValueError:
        return False
    return True


def plain(text: str) -> bool:
    """No surrounding or unusual whitespace, control characters or NUL: a text every route
    reads exactly as given."""
    return text.isprintable() and text == text.strip() and len(text) <= 255


def refusal(response) -> str:
    """The reason of a 400/422 JSON answer (there must be one)."""
    assert response.status_code in (400, 422), response.status_code
    message = response.get_json()["error"]
    assert isinstance(message, str) and message.strip()
    return message


# --- the places a cron is taken ----------------------------------------------------------------


@pytest.fixture
def world(app, user_api):
    owner = user_api.user
    project = factories.project(members={owner: "owner"})
    template = factories.template(project=project, name="Nightly")
    schedule = factories.schedule(project=project, template_id=template.id)
    browser = Browser(app)
    browser.log_in(owner)
    form_url = f"/project/{project.id}/schedules/new"
    token = csrf_token(browser.get(form_url).get_data(as_text=True))
    return {
        "api": user_api,
        "browser": browser,
        "token": token,
        "form_url": form_url,
        "base": f"/api/project/{project.id}/schedules",
        "template_id": template.id,
        "schedule_id": schedule.id,
        "project_id": project.id,
    }


def post_schedule(world, cron: str):
    body = {"template_id": world["template_id"], "cron_format": cron}
    return world["api"].post(world["base"], json=body)


def put_schedule(world, cron: str):
    body = {"template_id": world["template_id"], "cron_format": cron}
    return world["api"].put(f"{world['base']}/{world['schedule_id']}", json=body)


def validate(world, cron: str):
    return world["api"].post(f"{world['base']}/validate", json={"cron_format": cron})


def submit_form(world, cron: str):
    fields = {
        "csrf_token": world["token"],
        "name": "fuzzed",
        "template_id": str(world["template_id"]),
        "type": "",
        "cron_format": cron,
        "run_at": "",
        "repository_id": "",
        "active": "y",
    }
    return world["browser"].post(world["form_url"], data=fields)


def restore_document(cron: str) -> dict:
    return {
        "meta": {"name": "restored"},
        "keys": [{"name": "None", "type": "none"}],
        "repositories": [
            {
                "name": "repo",
                "git_url": "https://example.com/repo.git",
                "git_branch": "main",
                "ssh_key": "None",
            }
        ],
        "inventories": [{"name": "inv", "inventory": "localhost", "type": "static"}],
        "templates": [{"name": "build", "repository": "repo", "inventory": "inv", "cron": cron}],
    }


def restore(world, cron: str):
    return world["api"].post("/api/projects/restore", json=restore_document(cron))


# --- the properties ----------------------------------------------------------------------------


@FUZZ
@given(cron=CRON)
def test_the_api_never_fails_on_a_cron(world, cron):
    created = post_schedule(world, cron)
    assert created.status_code in (201, 400), created.status_code
    if created.status_code == 201:
        assert parses(created.get_json()["cron_format"])
    else:
        refusal(created)
    updated = put_schedule(world, cron)
    assert updated.status_code in (204, 400), updated.status_code
    assert (updated.status_code == 204) == (created.status_code == 201)
    if updated.status_code == 400:
        assert refusal(updated) == refusal(created)
    checked = validate(world, cron)
    assert checked.status_code in (200, 400), checked.status_code
    if checked.status_code == 400:
        refusal(checked)
    if plain(cron):
        # The same text, the same verdict and reason, the parser's.
        assert (checked.status_code == 200) == (created.status_code == 201) == parses(cron)
        if checked.status_code == 400:
            assert refusal(checked) == refusal(created)


@FUZZ
@given(cron=CRON)
def test_the_schedule_form_never_fails_on_a_cron(world, cron):
    page = submit_form(world, cron)
    assert page.status_code in (303, 422), page.status_code
    if plain(cron):
        answer = post_schedule(world, cron)
        if answer.status_code == 400:
            assert page.status_code == 422
            assert str(markupsafe.escape(refusal(answer))) in page.get_data(as_text=True)
        else:
            assert page.status_code == 303


@FUZZ
@given(cron=CRON)
@example(cron="0 0 * * *\x00")
def test_restore_never_fails_on_a_cron(world, cron):
    response = restore(world, cron)
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        if "\x00" in cron:  # refused as a whole before any field is read
            assert refusal(response) == "Request body contains a NUL character"
        else:
            assert "cron" in refusal(response)
    else:
        assert parses(cron)
    if plain(cron) and not parses(cron):
        assert response.status_code == 400


# --- the largest @every ---------------------------------------------------------------------------


def test_an_every_past_gos_range_is_refused_by_the_api(world):
    for response in (post_schedule(world, HUGE), put_schedule(world, HUGE), validate(world, HUGE)):
        assert response.status_code == 400
        assert refusal(response) == (
            "Cron: failed to parse duration @every 100000000000h: "
            'time: invalid duration "100000000000h"'
        )


def test_an_every_past_gos_range_is_refused_by_the_form(world):
    page = submit_form(world, HUGE)
    assert page.status_code == 422
    assert "Cron: failed to parse duration @every 100000000000h" in page.get_data(as_text=True)


def test_an_every_past_gos_range_is_refused_by_restore(world):
    response = restore(world, HUGE)
    assert response.status_code == 400
    assert "cron is invalid: failed to parse duration @every 100000000000h" in refusal(response)


@pytest.mark.parametrize("zone", ["Europe", "a" * 300])
def test_a_zone_that_names_a_directory_or_too_long_a_path_is_refused(world, zone):
    cron = f"CRON_TZ={zone} 0 0 * * *"
    assert refusal(validate(world, cron)).startswith(f"Cron: provided bad location {zone}")
    assert post_schedule(world, cron).status_code == 400
    assert restore(world, cron).status_code == 400
