"""Every projection handler reads its event's data as the catalogue's typed class: an event
whose data lacks what its schema promises can never be applied, so it is parked at once
(PoisonError), before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from arrears.events import CASE_EVENT_TYPES
from arrears.messaging import PoisonError, case_event
from contact_service.projections import HANDLERS
from sqlalchemy.ext.asyncio import AsyncConnection

AT = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def test_every_handled_event_is_in_the_catalogue() -> None:
    assert set(HANDLERS) <= set(CASE_EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(HANDLERS))
async def test_an_event_without_its_required_fields_is_parked(name: str) -> None:
    envelope = case_event(
        case_id="00000000-0000-0000-0000-000000000001",
        version=2,
        sequence=2,
        event_name=name,
        occurred_at=AT,
        data={},
    )
    no_database = cast(AsyncConnection, None)  # never reached: the data is read first
    row: dict[str, Any] = {"case_id": "00000000-0000-0000-0000-000000000001"}
    if not CASE_EVENT_TYPES[name].__dataclass_fields__:  # type: ignore[attr-defined]
        pytest.skip("an event without fields")
    with pytest.raises(PoisonError, match=name):
        await HANDLERS[name](no_database, envelope, row)
    assert row == {"case_id": "00000000-0000-0000-0000-000000000001"}
