"""The checked-in JSON Schemas match the catalogue, and envelopes validate against them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from arrears.messaging.envelope import case_event
from case_service.domain import EVENT_CLASSES
from case_service.relay.schemas import generate, render

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def test_checked_in_schemas_are_up_to_date() -> None:
    generated = generate()
    on_disk = {p.name for p in SCHEMAS.glob("*.json")}
    assert on_disk == set(generated), "run: python -m case_service.relay.schemas docs/schemas"
    for name, schema in generated.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == render(schema), name


def test_every_catalogue_event_has_a_valid_schema() -> None:
    for name in EVENT_CLASSES:
        schema = json.loads((SCHEMAS / f"collections.case.{name}.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)


def test_money_is_a_decimal_string_never_a_number() -> None:
    schema = json.loads((SCHEMAS / "collections.case.PaymentMissed.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    good = {"installment": 3, "due_date": "2026-10-01", "amount": "1200.00", "currency": "CNY"}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "amount": 1200.0})


def test_personal_data_is_marked_in_schema_and_envelope() -> None:
    schema = json.loads((SCHEMAS / "collections.case.CaseOpened.json").read_text())
    assert "borrower" in schema["x-personal-data"]
    envelope = case_event(
        case_id="c1",
        version=1,
        sequence=1,
        event_name="CaseOpened",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        data={},
        personal_data=EVENT_CLASSES["CaseOpened"].personal_data,
    )
    assert "borrower" in envelope.to_dict()["personaldata"].split(",")


@pytest.mark.parametrize("missing", ["id", "subject", "dataschema", "time"])
def test_the_envelope_schema_requires_the_design_attributes(missing: str) -> None:
    envelope = case_event(
        case_id="c1",
        version=2,
        sequence=9,
        event_name="PaymentMissed",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        data={},
    ).to_dict()
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "envelope.json").read_text()))
    assert validator.is_valid(envelope)
    del envelope[missing]
    assert not validator.is_valid(envelope)


def test_asyncapi_document_is_current_and_complete() -> None:
    import yaml
    from case_service.relay.asyncapi import render

    path = SCHEMAS.parent / "asyncapi.yaml"
    assert path.read_text(encoding="utf-8") == render(), (
        "run: python -m case_service.relay.asyncapi"
    )
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    for topic in (
        "collections.case-events.v1",
        "collections.contact-tasks.v1",
        "collections.legal-tasks.v1",
    ):
        assert {topic, topic + ".dlq"} <= addresses
    case_channel = next(
        c for c in doc["channels"].values() if c["address"] == "collections.case-events.v1"
    )
    assert set(case_channel["messages"]) == set(EVENT_CLASSES)

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [
                r for v in node.values() for r in refs(v)
            ]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):  # every reference resolves, inside the document or to a file
        if ref.startswith("#/"):
            node: object = doc
            for part in ref[2:].split("/"):
                assert isinstance(node, dict), ref
                assert part in node, ref
                node = node[part]
        else:
            assert (path.parent / ref).is_file(), ref
    for operation in doc["operations"].values():
        assert operation["action"] in {"send", "receive"}
