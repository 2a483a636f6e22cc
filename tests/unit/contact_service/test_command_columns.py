"""The command path reads only some of the case row's columns (repository.commands'
COMMAND_COLUMNS): they must hold everything the guard's view is made of, or an attempt
would be decided on a view missing a flag, an opt-out or a dispute."""

from __future__ import annotations

from typing import Any

from contact_service.readmodel import derive
from contact_service.readmodel.repository.commands import COMMAND_COLUMNS
from contact_service.readmodel.tables import CASES


class _Noting(dict[str, Any]):
    """A row that notes which columns are read."""

    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__(row)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def test_the_guards_view_reads_only_the_columns_the_command_path_selects() -> None:
    row = _Noting(
        {column.name: None for column in CASES.columns}
        | {"case_id": "c-1", "timezone": "Asia/Shanghai", "status": "open", "flags": ["x"]}
    )
    derive.case_view(row, [])
    assert row.read
    assert row.read <= set(COMMAND_COLUMNS)


def test_the_command_columns_are_the_case_rows() -> None:
    assert set(COMMAND_COLUMNS) <= {column.name for column in CASES.columns}
    assert {"strategy", "arm"} <= set(COMMAND_COLUMNS)  # an attempt is recorded under them
