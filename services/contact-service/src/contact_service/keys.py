"""The projection's subject keys over the lean client (`caseclient.py`) instead of httpx.

The projection opens each new case's personal fields with its subject's key, fetched from
case-service once per case (`arrears.messaging.SubjectKeyClient` keeps it 5 minutes): in the
whole-system bench that is a key for every case opened, and httpx's request cost several times
the lean client's. A rebuild asks for a page's keys at once (`prefetch`, the batch read).
Everything else (cache, 410/404 as erased, errors) is the shared class's.
"""

from __future__ import annotations

from collections.abc import Callable

from arrears.messaging.personal import SubjectKeyClient

from contact_service.caseclient import CaseServiceClient


class LeanSubjectKeyClient(SubjectKeyClient):
    def __init__(self, case_service_url: str, token: Callable[[], str]) -> None:
        super().__init__(case_service_url, token)
        self._lean = CaseServiceClient(case_service_url, timeout=5.0, keep=4)

    async def fetch(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        answer = await self._lean.get(path, headers)
        return answer.status, answer.body

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        answer = await self._lean.post(path, body, headers)
        return answer.status, answer.body

    async def aclose(self) -> None:
        await self._lean.aclose()
        await super().aclose()
