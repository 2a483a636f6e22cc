"""One client per backing service. Each call carries the signed-in user's token and the
request's correlation id; a refusal comes back as BackendError with the service's
problem+json, so a page can show the reason (and the field it names) as the service gave it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from arrears.logging import CORRELATION_HEADER, get_correlation_id


@dataclass
class BackendError(Exception):
    status: int
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or self.status)

    def field_errors(self) -> dict[str, str]:
        """{field: message} from the problem's `errors` (the last segment names the field)."""
        found: dict[str, str] = {}
        for error in self.problem.get("errors") or []:
            if isinstance(error, dict) and "field" in error:
                name = str(error["field"]).rsplit(".", 1)[-1]
                found.setdefault(name, str(error.get("message", "")))
        return found


class Backend:
    def __init__(self, name: str, base_url: str, timeout: float) -> None:
        self.name = name
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    def _headers(self, token: str, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        correlation = get_correlation_id()
        if correlation:
            headers[CORRELATION_HEADER] = correlation
        if key:
            headers["Idempotency-Key"] = key
        return headers

    async def get(self, path: str, token: str, params: dict[str, Any] | None = None) -> Any:
        try:
            reply = await self._client.get(path, params=params, headers=self._headers(token))
        except httpx.HTTPError as exc:
            raise BackendError(503, {"detail": f"{self.name} is unreachable: {exc}"}) from None
        return _body(reply)

    async def get_bytes(self, path: str, token: str) -> bytes:
        """The answer's bytes as sent (a file that must stay byte for byte, e.g. a bundle)."""
        try:
            reply = await self._client.get(path, headers=self._headers(token))
        except httpx.HTTPError as exc:
            raise BackendError(503, {"detail": f"{self.name} is unreachable: {exc}"}) from None
        if reply.status_code >= 400:
            _body(reply)
        return reply.content

    async def post(self, path: str, token: str, body: Any, key: str | None = None) -> Any:
        try:
            reply = await self._client.post(path, json=body, headers=self._headers(token, key))
        except httpx.HTTPError as exc:
            raise BackendError(503, {"detail": f"{self.name} is unreachable: {exc}"}) from None
        return _body(reply)

    async def aclose(self) -> None:
        await self._client.aclose()


def _body(reply: httpx.Response) -> Any:
    try:
        body = reply.json() if reply.content else {}
    except ValueError:
        body = {"detail": reply.text[:500]}
    if reply.status_code >= 400:
        raise BackendError(reply.status_code, body if isinstance(body, dict) else {})
    return body


@dataclass
class Backends:
    case: Backend
    contact: Backend
    legal: Backend

    async def aclose(self) -> None:
        for backend in (self.case, self.contact, self.legal):
            await backend.aclose()
