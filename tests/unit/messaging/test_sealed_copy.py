"""A consumer opens only the sealed values it names (`SealedCopy(data, only)`)."""

from __future__ import annotations

from typing import Any

from arrears.messaging.personal import SealedCopy
from contact_service.projections.opened import leaves_read


def _sealed(key_id: str) -> dict[str, str]:
    return {"ref": key_id, "enc": "AAAA", "key_id": key_id}


def _opening() -> dict[str, Any]:
    return {
        "borrower": {
            "name": _sealed("b" * 32),
            "address": _sealed("b" * 32),
            "phones": [{"number": _sealed("b" * 32), "kind": "mobile"}],
        },
        "guarantors": [{"id": "g1", "name": _sealed("g" * 32)}],
        "collateral": {"description": _sealed("b" * 32)},
    }


def test_only_the_named_sealed_values_are_opened_and_their_keys_fetched() -> None:
    data = _opening()
    copy = SealedCopy(data, leaves_read("CaseOpened"))
    assert sorted(at for _, at, _ in copy.places) == ["address", "number"]
    # The guarantor's key opens only a name, which stays sealed: it is not asked for.
    assert copy.key_ids == {"b" * 32}
    assert copy.data["borrower"]["name"] == _sealed("b" * 32)
    assert copy.data["guarantors"][0]["name"] == _sealed("g" * 32)
    assert data == _opening()  # the data given is not touched


def test_every_sealed_value_is_opened_without_a_choice() -> None:
    copy = SealedCopy(_opening(), leaves_read("ContactPointAdded"))
    assert sorted(at for _, at, _ in copy.places) == [
        "address",
        "description",
        "name",
        "name",
        "number",
    ]
    assert copy.key_ids == {"b" * 32, "g" * 32}
