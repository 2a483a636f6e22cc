"""What the deploy tests share: the repository's files, and each module's settings class."""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
COMPOSE = REPO / "docker-compose.yml"
K8S = REPO / "deploy" / "k8s"

# `python -m <module>` -> the settings class that process reads its environment with.
SETTINGS = {
    "case_service": "case_service.settings:CaseServiceSettings",
    "case_service.relay": "case_service.relay.runner:RelaySettings",
    "case_service.checkpointer": "case_service.checkpointer.runner:CheckpointerSettings",
    "case_service.aging": "case_service.settings:CaseServiceSettings",
    "contact_service": "contact_service.settings:ContactServiceSettings",
    "legal_service": "legal_service.settings:LegalServiceSettings",
    "console_service": "console_service.settings:ConsoleSettings",
}
CASE_EVENTS_TOPIC = "collections.case-events.v1"


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def module_of(command: object) -> str | None:
    """`["python", "-m", "x.y", ...]` -> "x.y"."""
    if isinstance(command, list) and command[:2] == ["python", "-m"] and len(command) > 2:
        return str(command[2])
    return None


def settings_names(module: str) -> set[str]:
    """The environment variables the module's settings class reads (upper case)."""
    target = SETTINGS.get(module)
    if target is None:
        pytest.fail(f"no settings class known for `python -m {module}`; add it to SETTINGS")
    path, _, name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(path), name)
    except ImportError as exc:
        pytest.skip(f"{path} is not importable yet ({exc}); its variables are unchecked")
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {(prefix + field).upper() for field in cls.model_fields}


def topics() -> dict[str, tuple[int, int]]:
    """name -> (partitions, retention.ms), as docker-compose.yml's kafka-topics creates them."""
    spec = compose()["services"]["kafka-topics"]["environment"]["TOPICS"]
    found = {}
    for entry in spec.split():
        name, partitions, retention = entry.split(":")
        found[name] = (int(partitions), int(retention))
    return found


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((path.name, doc))
    return docs


def exported_metrics() -> set[str]:
    """Every Prometheus metric name the code registers (prometheus_client constructors)."""
    pattern = re.compile(r"(?:Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][\w:]*)\"")
    names: set[str] = set()
    for root in (REPO / "shared" / "src", *sorted((REPO / "services").glob("*/src"))):
        for source in root.rglob("*.py"):
            names.update(pattern.findall(source.read_text()))
    return names
