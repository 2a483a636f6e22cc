"""Bounded integers: JSON integers only (no booleans, no strings, no floats), and never beyond
what PostgreSQL's bigint holds, so no query or path parameter can overflow the database."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

BIGINT_MAX = 2**63 - 1

Count = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
Version = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
# A position in a log (notification id, tree size); 0 means "from the start".
Position = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
PageOffset = Annotated[int, Field(ge=0, le=10_000_000)]
PageLimit = Annotated[int, Field(ge=1, le=1000)]
