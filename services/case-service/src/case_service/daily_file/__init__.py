"""The daily file of missed installments, recorded in bulk (docs/architecture.md).

`items` says what an item is and which domain rule checks it (shared with the command path);
`fast` records the usual item as that rule does, without the generic machinery;
`bulk` loads the file's cases in large reads, runs each item through that rule, and appends
the events with their chain rows in one transaction per chunk.
"""

from case_service.daily_file.bulk import BegunChunk, DailyFileWriter
from case_service.daily_file.items import MissedInstallment, as_command, record_item
from case_service.daily_file.prepared import Prepared
from case_service.daily_file.workers import Workers

__all__ = [
    "BegunChunk",
    "DailyFileWriter",
    "MissedInstallment",
    "Prepared",
    "Workers",
    "as_command",
    "record_item",
]
