"""Opening the personal fields of case events, for consumers entitled to clear values.

case-service publishes each personal value sealed with its data subject's key (docs/
messaging.md, "Personal data"): `{"ref", "enc", "key_id"}`. A consumer that must read the
value (contact-service, which dials) fetches the subject's key from case-service with the
service role, `GET /v1/subject-keys/{key_id}`, keeps it for a bounded time, and decrypts;
once the subject's data was erased the endpoint answers 410 and the value reads "[erased]".
Consumers needing no personal data skip all this and read the rest of the event unchanged.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from base64 import b64decode
from binascii import a2b_base64
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from arrears.messaging.envelope import Envelope, with_data

ERASED = "[erased]"
SEALED_KEYS = frozenset({"ref", "enc", "key_id"})
_KEY_ID = re.compile(r"^[0-9a-f]{32}$")
BATCH = 1000  # case-service's most subjects per `POST /v1/subject-keys:batch`


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.keys() == SEALED_KEYS


def sealed_key_ids(node: Any) -> set[str]:
    """The key ids of every sealed value anywhere in `node`."""
    if is_sealed(node):
        return {str(node["key_id"])}
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    found: set[str] = set()
    for child in children:
        found |= sealed_key_ids(child)
    return found


def open_value(sealed: dict[str, Any], aead: AESGCM | None) -> str:
    if aead is None:
        return ERASED
    try:
        # `b64decode` of a str is this call after a check and an encode of its own (a str
        # not ASCII raises ValueError either way).
        raw = a2b_base64(str(sealed["enc"]))
        return aead.decrypt(raw[:12], raw[12:], str(sealed["key_id"]).encode()).decode()
    except (InvalidTag, ValueError):
        return ERASED


# Where a sealed value sits in a copy of an event's data: (container, key or index, value).
Places = list[tuple[Any, Any, dict[str, Any]]]


class SealedCopy:
    """A copy of an event's data down to its sealed values, and where each of those sits:
    opening them needs this one walk, and the data given stays sealed. (A walk to find the
    keys, a deep copy and another walk to open were half of what a new case cost a
    rebuild.)"""

    __slots__ = ("_holder", "key_ids", "places")

    def __init__(self, data: Any, only: frozenset[str] | None = None) -> None:
        """`only`: the names under which a sealed value is opened (a consumer's minimum
        necessary); any other sealed value stays sealed in the copy. None: every one."""
        self._holder: dict[str, Any] = {}
        self.places: Places = []
        _copy_into(self._holder, "data", data, self.places)
        if only is not None:
            self.places = [place for place in self.places if place[1] in only]
        # Asked for twice when a page's keys are fetched ahead: found once.
        self.key_ids: set[str] = {str(value["key_id"]) for _, _, value in self.places}

    @property
    def data(self) -> Any:
        """The copy (its sealed values opened once `SubjectKeyClient.open_copy` ran)."""
        return self._holder["data"]


def _copy_into(place: Any, at: Any, node: Any, sealed: Places) -> None:
    """`place[at]` = a copy of `node` down to its sealed values, each noted in `sealed`."""
    if isinstance(node, dict):
        if len(node) == 3 and is_sealed(node):  # the length first: most dicts are not
            sealed.append((place, at, node))
            place[at] = node
            return
        copied: dict[str, Any] = {}
        place[at] = copied
        for name, child in node.items():
            if isinstance(child, (dict, list)):
                _copy_into(copied, name, child, sealed)
            else:
                copied[name] = child
    elif isinstance(node, list):
        items: list[Any] = list(node)
        place[at] = items
        for index, child in enumerate(node):
            if isinstance(child, (dict, list)):
                _copy_into(items, index, child, sealed)
    else:
        place[at] = node


class KeyFetchError(RuntimeError):
    """case-service did not answer with a key or 410/404: retried like any transient failure."""


class SubjectKeyClient:
    """Fetches subjects' data keys from case-service and caches them for `ttl_seconds`."""

    def __init__(
        self,
        case_service_url: str,
        token: Callable[[], str],
        *,
        ttl_seconds: float = 300.0,
        max_keys: int = 10_000,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = token
        self._ttl = ttl_seconds
        self._max = max_keys
        self._cache: dict[str, tuple[AESGCM | None, float]] = {}
        self._http = httpx.AsyncClient(
            base_url=case_service_url.rstrip("/"), timeout=timeout_seconds, transport=transport
        )

    async def key(self, key_id: str) -> AESGCM | None:
        """The subject's key; None once erased (410) or unknown (404)."""
        cached = self._cache.get(key_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        if not _KEY_ID.match(key_id):
            return None
        status, body = await self.fetch(
            f"/v1/subject-keys/{key_id}", {"Authorization": f"Bearer {self._token()}"}
        )
        if status == 200:
            aead: AESGCM | None = AESGCM(b64decode(json.loads(body)["key"]))
        elif status in (404, 410):
            aead = None
        else:
            raise KeyFetchError(f"subject key {key_id}: HTTP {status}")
        self._make_room(1)
        self._cache[key_id] = (aead, time.monotonic() + self._ttl)
        return aead

    def _make_room(self, wanted: int) -> None:
        """Keep at most `max_keys`: the oldest entries go first (a dict keeps insertion
        order), so the keys just fetched for a page stay while that page is applied."""
        excess = len(self._cache) + wanted - self._max
        if excess > 0:
            for key_id in list(itertools.islice(self._cache, excess)):
                del self._cache[key_id]

    async def prefetch(self, key_ids: Iterable[str]) -> int:
        """Cache the keys of these subjects not cached yet, up to `BATCH` per request
        (`POST /v1/subject-keys:batch`): a rebuild asks for a page's subjects at once instead
        of one request per new case. Returns how many were fetched. A case-service without
        the batch read (404, 405) leaves them to `key`, one by one, as before."""
        now = time.monotonic()
        wanted = sorted(
            {
                k
                for k in key_ids
                if _KEY_ID.match(k) and not ((c := self._cache.get(k)) and c[1] > now)
            }
        )
        fetched = 0
        for first in range(0, len(wanted), BATCH):
            refs = wanted[first : first + BATCH]
            status, body = await self.post(
                "/v1/subject-keys:batch",
                json.dumps({"refs": refs}).encode(),
                {"Authorization": f"Bearer {self._token()}"},
            )
            if status in (404, 405):
                return fetched
            if status != 200:
                raise KeyFetchError(f"subject keys batch: HTTP {status}")
            answer = orjson.loads(body)  # a page's thousand keys: stdlib json took 3x longer
            self._make_room(len(refs))
            until = time.monotonic() + self._ttl
            for item in answer["keys"]:
                self._cache[item["key_id"]] = (AESGCM(b64decode(item["key"])), until)
            for key_id in (*answer["erased"], *answer["unknown"]):
                self._cache[key_id] = (None, until)
            fetched += len(refs)
        return fetched

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST `body` (JSON) to case-service: (status, body); overridable as `fetch`."""
        answer = await self._http.post(
            path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        return answer.status_code, answer.content

    async def fetch(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """GET `path` from case-service: (status, body). A service with a leaner client of
        its own may override this (contact-service's, which fetches a key per new case)."""
        answer = await self._http.get(path, headers=headers)
        return answer.status_code, answer.content

    async def open_copy(self, copy: SealedCopy) -> Any:
        """Open `copy`'s sealed values in place (each "[erased]" without its key); its data."""
        now, cache = time.monotonic(), self._cache
        keys: dict[str, AESGCM | None] = {}
        for key_id in sorted(copy.key_ids):
            cached = cache.get(key_id)  # as `key` does, without a coroutine for a cached one
            keys[key_id] = cached[0] if cached and cached[1] > now else await self.key(key_id)
        if len(keys) == 1:  # one subject's values, the usual event: no lookup for each
            (aead,) = keys.values()
            for place, at, value in copy.places:
                place[at] = open_value(value, aead)
        else:
            for place, at, value in copy.places:
                place[at] = open_value(value, keys[str(value["key_id"])])
        return copy.data

    async def open(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of `data` with every sealed value opened (or "[erased]")."""
        copy = SealedCopy(data)
        if not copy.places:
            return data
        opened: dict[str, Any] = await self.open_copy(copy)
        return opened

    async def open_envelope(
        self, envelope: Envelope, only: frozenset[str] | None = None
    ) -> Envelope:
        """`envelope` with its sealed values opened (those named in `only`, if given)."""
        if not envelope.personaldata:
            return envelope
        copy = SealedCopy(envelope.data, only)
        if not copy.places:
            return envelope
        return with_data(envelope, await self.open_copy(copy))

    def forget(self) -> None:
        self._cache.clear()

    async def aclose(self) -> None:
        await self._http.aclose()
