"""The command writer's cache of current cases.

Only the writer thread touches it, so a cached case is handed out as is: no copy per
command (the library's cache deep-copies on every get, which cost half of a warm command).
The price is discipline: whoever changes a case and then fails to save it must evict it,
so the next command rebuilds it from the store.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from case_service.domain import CollectionCase


class CaseCache:
    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._cases: OrderedDict[UUID, CollectionCase] = OrderedDict()

    def get(self, case_id: UUID) -> CollectionCase | None:
        case = self._cases.get(case_id)
        if case is not None:
            self._cases.move_to_end(case_id)
        return case

    def put(self, case: CollectionCase) -> None:
        if self._max_size <= 0:
            return
        self._cases[case.id] = case
        self._cases.move_to_end(case.id)
        while len(self._cases) > self._max_size:
            self._cases.popitem(last=False)

    def evict(self, case_id: UUID) -> None:
        self._cases.pop(case_id, None)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._cases

    def __len__(self) -> int:
        return len(self._cases)
