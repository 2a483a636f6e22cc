"""legal-service fuzzed from its own OpenAPI, and the issue's attacks (see harness.py): no
input gives a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from legal_service.api.app import create_app
from legal_service.settings import LegalServiceSettings

from .harness import (
    attack_body,
    attack_parameter,
    body_attacks,
    fuzz,
    operations,
    parameter_attacks,
)

# Built only to read its OpenAPI: nothing connects until a lifespan starts.
SPEC = create_app(
    LegalServiceSettings(jwt_secret="x" * 40, database_url="postgresql://nowhere/x")
).openapi()
OPERATIONS = operations(SPEC)
CASE = "/v1/legal/cases/{case_id}"
BODIES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    f"POST {CASE}/lawsuits": (
        {"court": "Chaoyang", "docket_number": "(2026)京0105民初1号", "claim_amount": "900.00",
         "filed_at": "{now}"},
        {"filed_at": "instant", "court": "text", "docket_number": "text", "claim_amount": "money"},
    ),
    f"POST {CASE}/notices": (
        {"kind": "demand_letter", "delivered_via": "letter", "served_at": "{now}"},
        {"served_at": "instant", "proof": "text"},
    ),
    f"POST {CASE}/write-offs": (
        {"reason": "uncollectable", "approved_by": "sup-1", "written_off_at": "{now}"},
        {"written_off_at": "instant", "reason": "text"},
    ),
    f"POST {CASE}/legal-costs": (
        {"kind": "court_fee", "amount": "150.00", "incurred_on": "{today}"},
        {"incurred_on": "date", "amount": "money", "description": "text"},
    ),
    f"POST {CASE}/enforcement-outcomes": (
        {"enforcement_ref": "E-1", "outcome": "partially_recovered", "recovered_amount": "10.00",
         "ended_on": "{today}"},
        {"ended_on": "date", "recovered_amount": "money", "enforcement_ref": "text"},
    ),
    f"POST {CASE}/signals": (
        {"kind": "vanished", "noted_on": "{today}"},
        {"noted_on": "date", "source": "text"},
    ),
    f"PUT {CASE}/officer": ({"officer": "lee"}, {"officer": "text"}),
}  # fmt: skip


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_generated_request_gives_legal_service_a_server_error(
    legal_service: tuple[Any, list[str]], tokens: dict[str, str], label: str
) -> None:
    schema, case_ids = legal_service
    fuzz(schema, label, tokens, case_ids)


@pytest.mark.parametrize("hostile", parameter_attacks(SPEC, OPERATIONS))
def test_no_hostile_parameter_gives_legal_service_a_server_error(
    legal_service: tuple[Any, list[str]], tokens: dict[str, str], hostile: Any
) -> None:
    schema, case_ids = legal_service
    attack_parameter(schema, hostile, case_ids[0], tokens["admin"])


@pytest.mark.parametrize(("label", "body"), body_attacks(BODIES))
def test_no_hostile_field_gives_legal_service_a_server_error(
    legal_service: tuple[Any, list[str]], tokens: dict[str, str], label: str, body: Any
) -> None:
    schema, case_ids = legal_service
    attack_body(schema, label, case_ids[0], body, tokens["admin"])
