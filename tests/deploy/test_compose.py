"""docker-compose.yml is valid Compose, and every service is configured with what it reads."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft7Validator

from .helpers import (
    CASE_EVENTS_TOPIC,
    COMPOSE,
    REPO,
    SCHEMAS,
    SETTINGS,
    compose,
    module_of,
    settings_names,
    topics,
)

ARREARS_SERVICES = (
    "case-service",
    "case-relay",
    "case-checkpointer",
    "contact-service",
    "legal-service",
    "console",
)


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(compose()), key=lambda e: e.path)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_every_arrears_service_runs_its_module_in_its_own_container() -> None:
    services = compose()["services"]
    modules = {name: module_of(services[name].get("command")) for name in ARREARS_SERVICES}
    assert modules == {
        "case-service": "case_service",
        "case-relay": "case_service.relay",
        "case-checkpointer": "case_service.checkpointer",
        "contact-service": "contact_service",
        "legal-service": "legal_service",
        "console": "console_service",
    }


@pytest.mark.parametrize("name", ARREARS_SERVICES)
def test_a_service_is_given_only_variables_its_settings_read(name: str) -> None:
    service = compose()["services"][name]
    module = module_of(service["command"])
    assert module in SETTINGS
    given = set(service["environment"])
    unknown = given - settings_names(module)
    assert not unknown, f"{name} sets variables its settings never read: {sorted(unknown)}"
    assert {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "CIPHER_KEY"} <= given


@pytest.mark.parametrize("name", ARREARS_SERVICES)
def test_a_service_is_built_by_the_deploy_dockerfile_for_its_package(name: str) -> None:
    build = compose()["services"][name]["build"]
    assert build["dockerfile"] == "deploy/Dockerfile"
    assert (REPO / "services" / build["args"]["PACKAGE"] / "pyproject.toml").exists()


@pytest.mark.parametrize("name", ARREARS_SERVICES)
def test_a_service_is_health_checked_on_healthz(name: str) -> None:
    check = compose()["services"][name]["healthcheck"]["test"]
    assert any("/healthz" in part for part in check)


@pytest.mark.parametrize("name", ["case", "contact", "legal"])
def test_a_service_starts_after_its_migrations_ran_on_its_database(name: str) -> None:
    services = compose()["services"]
    migrate, service = services[f"{name}-migrate"], services[f"{name}-service"]
    module = module_of(service["command"])
    assert migrate["command"] == ["python", "-m", module, "migrate"]
    assert migrate["build"] == service["build"]
    assert migrate["restart"] == "no"
    assert not set(migrate["environment"]) - settings_names(str(module))
    assert migrate["environment"]["DATABASE_URL"] == service["environment"]["DATABASE_URL"]
    assert service["depends_on"][f"{name}-migrate"] == {
        "condition": "service_completed_successfully"
    }


def test_secrets_come_from_the_environment_never_from_the_file() -> None:
    text = COMPOSE.read_text()
    for secret in ("JWT_SECRET", "CIPHER_KEY", "POSTGRES_PASSWORD", "CHECKPOINT_SIGNING_KEY"):
        assert re.search(rf"{secret}: \$\{{{secret}:\?", text), secret


def test_the_relay_uses_the_idempotent_producer_of_apache_kafka() -> None:
    env = compose()["services"]["case-relay"]["environment"]
    assert env["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert compose()["services"]["kafka"]["image"].startswith("apache/kafka")


def test_every_topic_and_its_dead_letter_queue_is_created() -> None:
    created = topics()
    for topic in (CASE_EVENTS_TOPIC, "collections.contact-tasks.v1", "collections.legal-tasks.v1"):
        assert topic in created
        assert f"{topic}.dlq" in created
        assert created[topic][0] >= 1
        assert created[topic][1] > 0


def test_each_service_database_is_created_by_the_init_script() -> None:
    script = (REPO / "deploy" / "postgres" / "init-databases.sh").read_text()
    for name in ARREARS_SERVICES:
        url = compose()["services"][name]["environment"]["DATABASE_URL"]
        database = url.rsplit("/", 1)[1]
        assert database in script, (name, database)


def test_the_dockerfile_installs_dependencies_before_the_source() -> None:
    lines = (REPO / "deploy" / "Dockerfile").read_text().splitlines()
    text = "\n".join(lines)
    deps = text.index("uv sync --frozen --no-dev --no-install-workspace --package ${PACKAGE}")
    source = text.index("COPY shared shared")
    project = text.index("uv sync --frozen --no-dev --no-editable --package ${PACKAGE}")
    assert deps < source < project
    for member in sorted((REPO / "services").glob("*/pyproject.toml")):
        relative = member.relative_to(REPO).as_posix()
        assert f"COPY {relative} {relative}" in text[:deps], f"phase one lacks {relative}"
