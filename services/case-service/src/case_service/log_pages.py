"""Reading the notification log a page at a time, in order, with a plan that stays cheap."""

from __future__ import annotations


def page_in_order(column: str, *, upto: bool = False, also: str = "") -> str:
    """The WHERE, ORDER BY and LIMIT of a page of the log after a position (parameters: the
    position, the upper bound if `upto`, the limit), each behind a sub-select; `also`, a
    further condition without parameters.

    Hidden so, every execution gets the plan a prepared statement's generic plan has: an
    index scan in `column`'s order that stops at the limit. With the values in sight, and
    the table's statistics behind its newest rows (a backlog just written, a table never
    analysed), the planner took the rest of the log for a few rows, read all of it and
    sorted it to keep one page: each page cost as much as all the pages after it, so a
    rebuild or a relay catch-up was quadratic in the log's length (2.9 s against 0.5 s over
    200,000 events, docs/benchmarks.md)."""
    bound = f" AND {column} <= (SELECT %s::bigint)" if upto else ""
    further = f" AND {also}" if also else ""
    return (
        f"WHERE {column} > (SELECT %s::bigint){bound}{further} "
        f"ORDER BY {column} LIMIT (SELECT %s::bigint)"
    )
