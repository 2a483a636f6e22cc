"""Time zones a person can live in: IANA region zones (pure; the domain uses it too).

`Asia/Shanghai` and `America/Los_Angeles` are accepted; `localtime` (the server's own zone),
`UTC`, `Etc/GMT+8` and legacy aliases such as `PRC` are not: a borrower's hours must be judged
in the zone where the borrower is, never in one that silently means something else.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

_REGIONS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)


@cache
def _region_zones() -> frozenset[str]:
    return frozenset(
        name for name in available_timezones() if name.split("/", 1)[0] in _REGIONS and "/" in name
    )


def check_zone(value: object) -> str:
    """An IANA region zone name; ValueError otherwise."""
    if not isinstance(value, str) or value not in _region_zones():
        raise ValueError(
            "must be an IANA region time zone such as Asia/Shanghai or America/Los_Angeles"
        )
    ZoneInfo(value)  # loads: the name is in the installed database
    return value
