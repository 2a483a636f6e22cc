"""deploy/k8s: valid manifests, probes, resources, replicas within the partitions, budgets."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from .helpers import (
    CASE_EVENTS_TOPIC,
    K8S,
    SCHEMAS,
    k8s_documents,
    module_of,
    settings_names,
    topics,
)

SCHEMA_FILES = {
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudget-policy-v1.json",
    ("batch/v1", "CronJob"): "cronjob-batch-v1.json",
    ("batch/v1", "Job"): "job-batch-v1.json",
}
CONSUMERS = {"contact_service", "legal_service"}  # one consumer group each on case events
DOCS = k8s_documents()


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in DOCS if doc["kind"] == kind]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize(
    "doc",
    [doc for _, doc in DOCS],
    ids=[f"{f}:{d['kind']}:{d['metadata']['name']}" for f, d in DOCS],
)
def test_a_manifest_follows_the_kubernetes_schema_of_its_kind(doc: dict[str, Any]) -> None:
    schema_file = SCHEMA_FILES.get((doc["apiVersion"], doc["kind"]))
    assert schema_file, f"no vendored schema for {doc['apiVersion']} {doc['kind']}"
    schema = json.loads((SCHEMAS / "kubernetes-v1.33.0" / schema_file).read_text())
    errors = list(Draft202012Validator(schema).iter_errors(doc))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_kustomization_names_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"secret.template.yaml"}


def test_the_secret_template_holds_placeholders_only() -> None:
    (secret,) = _of_kind("Secret")
    assert all("REPLACE" in value for value in secret["stringData"].values())


@pytest.mark.parametrize("deployment", _of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_a_deployment_is_probed_and_sized(deployment: dict[str, Any]) -> None:
    container = _container(deployment)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert {"cpu", "memory"} <= set(resources["limits"])


@pytest.mark.parametrize("deployment", _of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_a_deployment_sets_only_variables_its_settings_read(deployment: dict[str, Any]) -> None:
    container = _container(deployment)
    module = module_of(container["command"])
    assert module is not None
    readable = settings_names(module)
    given = {item["name"] for item in container["env"]}
    for source in container.get("envFrom", []):
        (config,) = [
            doc for doc in _of_kind("ConfigMap")
            if doc["metadata"]["name"] == source["configMapRef"]["name"]
        ]  # fmt: skip
        given |= set(config["data"])
    assert not given - readable, sorted(given - readable)
    secret_keys = set(_of_kind("Secret")[0]["stringData"])
    for item in container["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in secret_keys, ref


def test_consumers_scale_no_higher_than_the_partitions_of_case_events() -> None:
    partitions = topics()[CASE_EVENTS_TOPIC][0]
    for deployment in _of_kind("Deployment"):
        if module_of(_container(deployment)["command"]) in CONSUMERS:
            assert 1 <= deployment["spec"]["replicas"] <= partitions, deployment["metadata"]


def test_the_relay_runs_as_a_single_replica() -> None:
    (relay,) = [
        d for d in _of_kind("Deployment")
        if module_of(_container(d)["command"]) == "case_service.relay"
    ]  # fmt: skip
    assert relay["spec"]["replicas"] == 1
    assert relay["spec"]["strategy"]["type"] == "Recreate"


@pytest.mark.parametrize("deployment", _of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_a_deployment_has_a_disruption_budget_and_its_ports_a_service(
    deployment: dict[str, Any],
) -> None:
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return selector.items() <= labels.items()

    assert any(
        selects(p["spec"]["selector"]["matchLabels"]) for p in _of_kind("PodDisruptionBudget")
    )
    if _container(deployment)["ports"][0]["name"] == "http":
        assert any(selects(s["spec"]["selector"]) for s in _of_kind("Service"))


def _job_container(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = pod["containers"]
    assert len(containers) == 1
    return containers[0]


def test_the_daily_jobs_are_scheduled() -> None:
    commands = {tuple(_job_container(cronjob)["command"][2:]) for cronjob in _of_kind("CronJob")}
    assert commands == {
        ("case_service.aging",),
        ("contact_service", "daily-run"),
        ("legal_service", "daily-run"),
    }


@pytest.mark.parametrize("cronjob", _of_kind("CronJob"), ids=lambda d: d["metadata"]["name"])
def test_a_daily_job_runs_once_at_a_time_sized_with_variables_its_settings_read(
    cronjob: dict[str, Any],
) -> None:
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    container = _job_container(cronjob)
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    module = module_of(container["command"])
    assert module is not None
    given = {item["name"] for item in container["env"]}
    for source in container.get("envFrom", []):
        (config,) = [
            doc for doc in _of_kind("ConfigMap")
            if doc["metadata"]["name"] == source["configMapRef"]["name"]
        ]  # fmt: skip
        given |= set(config["data"])
    assert not given - settings_names(module), sorted(given - settings_names(module))
    secret_keys = set(_of_kind("Secret")[0]["stringData"])
    for item in container["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in secret_keys, ref


def test_the_migration_job_migrates_every_service_with_variables_its_settings_read() -> None:
    (job,) = _of_kind("Job")
    containers = job["spec"]["template"]["spec"]["containers"]
    assert {tuple(c["command"]) for c in containers} == {
        ("python", "-m", module, "migrate")
        for module in ("case_service", "contact_service", "legal_service", "console_service")
    }
    secret_keys = set(_of_kind("Secret")[0]["stringData"])
    config = {name for doc in _of_kind("ConfigMap") for name in doc["data"]}
    for container in containers:
        module = module_of(container["command"])
        assert module is not None
        given = {item["name"] for item in container["env"]} | config
        assert not given - settings_names(module), sorted(given - settings_names(module))
        deployed = [
            d for d in _of_kind("Deployment")
            if module_of(_container(d)["command"]) == module
        ]  # fmt: skip
        # the database it migrates is the one its Deployment uses
        (database,) = [e for e in container["env"] if e["name"] == "DATABASE_URL"]
        (used,) = [e for e in _container(deployed[0])["env"] if e["name"] == "DATABASE_URL"]
        assert database == used
        assert database["valueFrom"]["secretKeyRef"]["key"] in secret_keys
