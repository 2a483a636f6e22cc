"""Filling holes from case-service: its global feed and per-case reads (GET /v1/events).

Consumers must not rely on Kafka keeping its log or offsets forever. When a case's
`caseversion` jumps, the consumer asks case-service for the versions in between and applies
them first; a rebuild reads the whole feed. Both speak the same envelope as Kafka.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson

from arrears.messaging.envelope import Envelope, from_parsed_all
from arrears.messaging.pagefetch import LeanPages


@dataclass(frozen=True)
class FeedPage:
    envelopes: list[Envelope]
    next_after: int  # pass as `after` for the next page
    head: int  # the store's last sequence when the page was read


# The page's last members, as case-service writes them after the events array: read from the
# body's end without parsing it, so a rebuild can ask for the next page first.
_TAIL = re.compile(rb',"next_after":(\d+),"head":(\d+)\}\s*$')


def next_after_of(body: bytes) -> int | None:
    """The page's `next_after` from its last bytes, or None if they aren't in that form."""
    found = _TAIL.search(body, max(0, len(body) - 64))
    return int(found.group(1)) if found else None


def parse_page(body: bytes) -> FeedPage:
    page = orjson.loads(body)
    return FeedPage(
        envelopes=from_parsed_all(page["events"]),
        next_after=int(page["next_after"]),
        head=int(page["head"]),
    )


class FeedClient:
    """Client of case-service's `GET /v1/events`; also the consumer's `GapFiller`."""

    def __init__(
        self,
        base_url: str,
        token: str | Callable[[], str],
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        # The pages of the whole feed (a rebuild's) over plain HTTP by the lean client first;
        # a test's transport, TLS and the per-case reads stay with httpx.
        self._lean: LeanPages | None = None
        if transport is None and base_url.startswith("http://") and "@" not in base_url:
            self._lean = LeanPages(base_url, timeout)

    async def aclose(self) -> None:
        if self._lean is not None:
            self._lean.close()
        await self._client.aclose()

    def _headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def _body(self, params: dict[str, str | int]) -> bytes:
        try:
            response = await self._get_once(params)
        except httpx.RemoteProtocolError:
            # A kept-alive connection the server closed as this request went out (it closes
            # idle ones after a few seconds, and a rebuild can apply a page for longer): a
            # read, so asked again once on a new connection.
            response = await self._get_once(params)
        response.raise_for_status()
        return response.content

    async def _get_once(self, params: dict[str, str | int]) -> httpx.Response:
        return await self._client.get("/v1/events", params=params, headers=self._headers())

    async def _get(self, params: dict[str, str | int]) -> FeedPage:
        return parse_page(await self._body(params))

    async def page(self, after: int, limit: int = 1000) -> FeedPage:
        return parse_page(await self.page_body(after, limit))

    async def page_body(self, after: int, limit: int = 1000) -> bytes:
        """`page`'s body unparsed (`parse_page`, `next_after_of`)."""
        if self._lean is not None:
            body = await self._lean.get(f"/v1/events?after={after}&limit={limit}", self._headers())
            if body is not None:
                return body
        return await self._body({"after": after, "limit": limit})

    async def missing(
        self, subject: str, after_version: int, before_version: int
    ) -> list[Envelope]:
        """A case's envelopes with after_version < caseversion < before_version."""
        found: list[Envelope] = []
        cursor = after_version
        while cursor + 1 < before_version:
            page = await self._get(
                {
                    "case_id": subject,
                    "after_version": cursor,
                    "limit": min(1000, before_version - cursor - 1),
                }
            )
            if not page.envelopes:
                break
            for envelope in page.envelopes:
                if envelope.caseversion is not None and envelope.caseversion < before_version:
                    found.append(envelope)
            cursor = max(e.caseversion or cursor for e in page.envelopes)
        return found
