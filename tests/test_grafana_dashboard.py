"""docs/grafana/semaphore.json queries only metrics that GET /metrics exports, with PromQL's own
functions and keywords around them, so a renamed or dropped metric fails here, not on a
dashboard in production."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from semaphore.queue import heartbeats

pytestmark = pytest.mark.single_db

DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana" / "semaphore.json"
TOKEN = "dashboard-test-token"
FUNCTIONS = {
    "rate", "increase", "sum", "max", "min", "avg", "count", "topk", "histogram_quantile", "time",
    "clamp_min",
}  # fmt: skip
KEYWORDS = {"by", "without", "and", "or", "unless", "on", "ignoring", "bool", "offset"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}
# Strings, label matchers, range selectors and grouping clauses hold no metric name.
_NOT_NAMES = re.compile(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(?:by|without)\s*\([^)]*\)')
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")


def expressions(node: object) -> list[str]:
    """Every `expr` anywhere in the dashboard."""
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for value in node.values() for e in expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in expressions(item)]
    return []


def names_in(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, function names) an expression uses."""
    metrics, functions = set(), set()
    for name, call in _IDENTIFIER.findall(_NOT_NAMES.sub(" ", expr)):
        if call:
            functions.add(name)
        elif name not in KEYWORDS:
            metrics.add(name)
    return metrics, functions


@pytest.fixture
def config_overrides() -> dict:
    return {"metrics_token": TOKEN}


@pytest.fixture
def exported(app, client) -> dict[str, str]:
    """Every series name /metrics can export -> its family (each family with the suffixes of
    its type, whether or not it has samples yet)."""
    heartbeats.scheduler_ticked()  # the one gauge present only once a scheduler ticked
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    series = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for suffix in SUFFIXES.get(family.type, ("",)):
            series[family.name + suffix] = family.name
        series.update((sample.name, family.name) for sample in family.samples)
    return series


def test_the_dashboard_uses_only_exported_metrics(exported):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = expressions(dashboard)
    assert len(exprs) >= 20
    shown: set[str] = set()
    for expr in exprs:
        metrics, functions = names_in(expr)
        assert metrics, expr
        assert functions <= FUNCTIONS, (expr, functions - FUNCTIONS)
        assert metrics <= exported.keys(), (expr, metrics - exported.keys())
        shown |= {exported[name] for name in metrics}
    # And every family of ours has a panel.
    # (prometheus_client writes a counter's creation time as a gauge family of its own.)
    ours = {
        family
        for family in exported.values()
        if family.startswith("semaphore_") and not family.endswith("_created")
    }
    assert ours - shown == set()


def test_the_check_catches_an_unknown_metric(exported):
    metrics, _ = names_in('sum by (app) (rate(semaphore_tasks_begun_total{app="x"}[5m]))')
    assert metrics == {"semaphore_tasks_begun_total"} and not metrics <= exported.keys()
    metrics, functions = names_in("time() - max(up)")
    assert metrics == {"up"} and functions == {"time", "max"}
