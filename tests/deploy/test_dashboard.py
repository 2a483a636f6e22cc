"""The Grafana dashboard parses, and every metric it queries is one the code exports."""

from __future__ import annotations

import json
import re
from typing import Any

from .helpers import REPO, exported_metrics

DASHBOARD = REPO / "deploy" / "grafana" / "arrears-dashboard.json"
# A metric name in PromQL: ours all start with one of these prefixes.
METRIC = re.compile(r"\b((?:arrears|http)_[a-z0-9_]+)\b")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def _queried(dashboard: dict[str, Any]) -> set[str]:
    names = set()
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            names.update(METRIC.findall(target["expr"]))
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        names.update(METRIC.findall(text))
    return names


def _base(name: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_the_dashboard_parses_with_unique_panel_ids_and_a_query_per_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = _panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    charts = [panel for panel in panels if panel["type"] != "row"]
    assert charts
    assert all(panel.get("targets") for panel in charts)


def test_every_metric_the_dashboard_queries_is_exported_by_the_code() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {_base(name) for name in _queried(dashboard)}
    exported = exported_metrics()
    # prometheus_client adds `_total` to a counter's name if its code name lacks it.
    exported |= {f"{name}_total" for name in exported if not name.endswith("_total")}
    assert queried
    assert queried <= exported, sorted(queried - exported)


def test_the_dashboard_shows_what_operators_watch() -> None:
    queried = {_base(name) for name in _queried(json.loads(DASHBOARD.read_text()))}
    for name in (
        "http_requests_total",
        "http_request_duration_seconds",
        "arrears_relay_lag_events",
        "arrears_consumer_lag",
        "arrears_consumer_processed_total",
        "arrears_consumer_failed_total",
        "arrears_consumer_dlq_total",
        "arrears_tasks_emitted_total",
    ):
        assert name in queried, name
