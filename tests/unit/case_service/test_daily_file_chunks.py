"""How the daily file is cut into chunks (daily_file/bulk.py, `_chunks`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from case_service.daily_file import MissedInstallment
from case_service.daily_file.bulk import _chunks, _chunks_after
from hypothesis import given
from hypothesis import strategies as st


def _file(cases: list[int]) -> list[MissedInstallment]:
    return [
        MissedInstallment(UUID(int=case + 1), n, date(2026, 1, 1), Decimal("1"))
        for n, case in enumerate(cases)
    ]


def test_the_first_chunks_double_up_to_the_size_and_the_last_ones_halve() -> None:
    items = _file([n % 2000 for n in range(10_000)])  # five items a case

    chunks = _chunks(items, 4000, first=1000)

    assert [sum(map(len, chunk)) for chunk in chunks] == [1000, 2000, 3500, 1750, 1000, 750]
    longer = _chunks(_file([n % 8000 for n in range(40_000)]), 4000, first=1000)
    assert [sum(map(len, chunk)) for chunk in longer][:3] == [1000, 2000, 4000]
    assert [sum(map(len, chunk)) for chunk in longer][-4:] == [2500, 1250, 1000, 250]


@given(
    cases=st.lists(st.integers(0, 30), max_size=200),
    size=st.integers(1, 40),
    first=st.integers(1, 40),
)
def test_every_item_once_each_case_whole_in_file_order(
    cases: list[int], size: int, first: int
) -> None:
    items = _file(cases)

    chunks = _chunks(items, size, first=min(first, size))

    groups = [group for chunk in chunks for group in chunk]
    assert sorted(index for group in groups for index in group) == list(range(len(items)))
    for group in groups:  # one case per group, all of its items, in file order
        assert group == sorted(group)
        assert {items[i].case_id for i in group} == {items[group[0]].case_id}
        assert len(group) == cases.count(cases[group[0]])
    limit = min(first, size)
    for chunk in chunks:  # within its limit unless one case alone is larger
        assert sum(map(len, chunk)) <= limit or len(chunk) == 1
        limit = min(size, 2 * limit)


@given(
    cases=st.lists(st.integers(0, 30), min_size=2, max_size=200),
    begun=st.integers(1, 199),
    size=st.integers(1, 40),
)
def test_a_begun_first_chunk_is_its_items_cases_or_none_if_one_comes_again(
    cases: list[int], begun: int, size: int
) -> None:
    begun = min(begun, len(cases) - 1)
    items = _file(cases)

    chunks = _chunks_after(items, begun, size, first=size)

    named_again = set(cases[:begun]) & set(cases[begun:])
    if named_again:
        assert chunks is None
        return
    assert chunks is not None
    assert sorted(index for group in chunks[0] for index in group) == list(range(begun))
    rest = [group for chunk in chunks[1:] for group in chunk]
    assert sorted(index for group in rest for index in group) == list(range(begun, len(items)))
    for group in [*chunks[0], *rest]:  # whole cases, in file order
        assert group == sorted(group)
        assert len(group) == cases.count(cases[group[0]])
