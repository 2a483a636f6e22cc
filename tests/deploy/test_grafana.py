"""The Grafana dashboard parses, and queries only metrics the code exports."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .helpers import REPO, exported_metrics

DASHBOARD = REPO / "deploy" / "grafana" / "arrears-dashboard.json"
# Metrics the dashboard shows before the code exports them, and who is to export them.
PENDING: dict[str, str] = {}
METRIC = re.compile(r"\b((?:arrears|http)_[a-z0-9_]+)\b")
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")


def _panels(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in node.get("panels", []):
        found.append(panel)
        found.extend(_panels(panel))
    return found


def _queried() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    names = set()
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            for name in METRIC.findall(target["expr"]):
                for suffix in HISTOGRAM_SERIES:
                    name = name.removesuffix(suffix)
                names.add(name)
    return names


def test_the_dashboard_is_grafana_json_with_queries() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"]
    assert dashboard["title"]
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert len(ids) == len(set(ids))
    assert len(_queried()) >= 15


@pytest.mark.parametrize("metric", sorted(_queried()))
def test_a_queried_metric_is_exported_by_the_code(metric: str) -> None:
    exported = exported_metrics()
    if metric in PENDING and metric not in exported:
        pytest.xfail(f"not exported yet: {PENDING[metric]}")
    assert metric in exported, f"{metric} is on the dashboard but no code registers it"


def test_the_dashboard_covers_what_operators_watch() -> None:
    queried = _queried()
    for needed in (
        "http_requests_total",
        "http_request_duration_seconds",
        "arrears_relay_lag_events",
        "arrears_consumer_lag",
        "arrears_consumer_processed_total",
        "arrears_consumer_failed_total",
        "arrears_consumer_dlq_total",
        "arrears_guard_decisions_total",
        "arrears_tasks_emitted_total",
    ):
        assert needed in queried, needed
