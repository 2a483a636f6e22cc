"""The HTTP side of the simulator: who calls which API with which token, and what came back.

Only public APIs are used. Contact attempts and promises go to contact-service when it
answers (it checks the contact guard and forwards them to case-service); legal steps go to
legal-service when it answers; everything else, and anything those services do not know
yet (404), goes to case-service directly. Every POST carries the action's stable
Idempotency-Key, so a retry or a second run with the same seed records nothing twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any

import httpx
from arrears.auth import issue_token
from arrears.clock import Clock, SystemClock

from arrears_dev.simulator.model import Action

ROLES = ("origination", "collector", "supervisor", "legal", "service")
BATCH_CHUNK = 5_000
RETRIES = 5


@dataclass
class Tally:
    """What the services answered: events recorded (from their replies), requests, refusals."""

    events: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    forwarded: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def reject(self, kind: str, status: int, detail: str) -> None:
        label = f"{kind} {status}"
        self.rejected[label] += 1
        self.samples.setdefault(label, detail[:200])

    @property
    def event_total(self) -> int:
        return sum(self.events.values())


def mint_tokens(jwt_secret: str, ttl: timedelta = timedelta(hours=12)) -> dict[str, str]:
    return {role: issue_token(jwt_secret, role, f"simulator-{role}", ttl) for role in ROLES}


class Driver:
    def __init__(
        self,
        case_url: str,
        tokens: Mapping[str, str],
        *,
        contact_url: str | None = None,
        legal_url: str | None = None,
        concurrency: int = 32,
        timeout: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()  # the services' clock, for "now" fields
        self.urls = {"case": case_url.rstrip("/")}
        self.wanted = {"contact": contact_url, "legal": legal_url}
        self.tokens = dict(tokens)
        self.limit = asyncio.Semaphore(concurrency)
        self.client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.tally = Tally()
        self.case_ids: dict[str, str] = {}

    async def __aenter__(self) -> Driver:
        for name, url in self.wanted.items():
            if url and await self._healthy(url.rstrip("/")):
                self.urls[name] = url.rstrip("/")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    @property
    def routed(self) -> list[str]:
        return sorted(self.urls)

    async def _healthy(self, url: str) -> bool:
        try:
            return (await self.client.get(f"{url}/healthz", timeout=3.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def _post(self, url: str, role: str, body: Any, key: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        delay = 0.2
        async with self.limit:
            for attempt in range(RETRIES):
                self.tally.requests += 1
                try:
                    response = await self.client.post(url, json=body, headers=headers)
                except httpx.TransportError:
                    if attempt == RETRIES - 1:
                        raise
                else:
                    if response.status_code not in (502, 503, 504) or attempt == RETRIES - 1:
                        self.tally.statuses[str(response.status_code)] += 1
                        return response
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    # --- loan servicing ----------------------------------------------------------------

    async def open_cases(self, bodies: Sequence[dict[str, Any]]) -> None:
        async def open_one(body: dict[str, Any]) -> None:
            loan_id = body["loan_id"]
            url = f"{self.urls['case']}/v1/cases"
            # No Idempotency-Key: opening is idempotent on the loan id, and answers 200 (not a
            # replayed 201) for a loan already open, which keeps the event count honest.
            response = await self._post(url, "origination", body, None)
            if response.status_code in (200, 201):
                self.case_ids[loan_id] = response.json()["case_id"]
                if response.status_code == 201:
                    self.tally.events["CaseOpened"] += 1
            else:
                self.tally.reject("open", response.status_code, response.text)

        await asyncio.gather(*(open_one(body) for body in bodies))

    async def missed_payments(self, items: Sequence[dict[str, Any]], day: date) -> None:
        """The daily file, in chunks; every item stands alone at case-service."""
        url = f"{self.urls['case']}/v1/missed-payments:batch"
        chunks = [items[i : i + BATCH_CHUNK] for i in range(0, len(items), BATCH_CHUNK)]
        for n, chunk in enumerate(chunks):
            body = {"items": list(chunk)}
            response = await self._post(url, "origination", body, f"sim-batch-{day}-{n}")
            if response.status_code != 200:
                self.tally.reject("missed_batch", response.status_code, response.text)
                continue
            result = response.json()
            if result["recorded"]:
                self.tally.events["PaymentMissed"] += result["recorded"]
            for rejection in result["rejected"]:
                self.tally.reject("missed", rejection["status"], rejection["detail"])

    async def age(self, day: date) -> None:
        url = f"{self.urls['case']}/v1/aging-runs"
        response = await self._post(url, "service", {"as_of": day.isoformat()}, None)
        if response.status_code != 200:
            self.tally.reject("aging", response.status_code, response.text)
            return
        self.tally.events.update(response.json()["events"])

    # --- collectors and legal officers -----------------------------------------------------

    async def run_actions(self, per_loan: Mapping[str, Iterable[Action]]) -> None:
        """Each loan's actions in order; different loans concurrently."""

        async def run_loan(loan_id: str, actions: Iterable[Action]) -> None:
            case_id = self.case_ids.get(loan_id)
            for action in actions:
                if case_id is None:
                    self.tally.reject(action.kind, 0, "the case was never opened")
                    continue
                await self.send(case_id, action)

        await asyncio.gather(*(run_loan(loan, acts) for loan, acts in per_loan.items()))

    async def send(self, case_id: str, action: Action) -> None:
        body = dict(action.body)
        key: str | None = action.key
        if action.now_fields:
            stamp = self.clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z")
            body.update({name: stamp for name in action.now_fields})
            # The body differs on every send, so a key would refuse a resend; the payment's
            # reference makes it idempotent instead.
            key = None
        path = action.path if action.path.startswith("/") else f"/v1/cases/{case_id}/{action.path}"
        if action.via in self.urls and action.via != "case":
            routed = path if action.via != "legal" else path.replace("/v1/", "/v1/legal/", 1)
            there = {**body, **action.extra}
            response = await self._post(self.urls[action.via] + routed, action.role, there, key)
            if response.status_code in (200, 201, 202):
                self.tally.forwarded[f"{action.via}:{action.kind}"] += 1
                if response.status_code == 201:
                    # case-service's own answer, relayed: the events it recorded.
                    self.tally.events.update(_events(response))
                else:
                    self.tally.forwarded[f"{action.via}:{action.kind}:queued"] += 1
                return
            if response.status_code == 409 and action.via == "contact":
                # The contact guard said no: the dialer asked, as it should, and did not call.
                self.tally.forwarded[f"{action.via}:{action.kind}:guard_refused"] += 1
                self.tally.samples.setdefault(f"guard {action.kind}", response.text[:200])
                return
            if response.status_code not in (404, 405):
                self.tally.reject(
                    f"{action.via}:{action.kind}", response.status_code, response.text
                )
                return
            # Not projected there yet, or a route that service does not have: go direct.
            self.tally.forwarded[f"{action.via}:{action.kind}:fallback"] += 1
        response = await self._post(self.urls["case"] + path, action.role, body, key)
        if response.status_code == 201:
            if "idempotent-replayed" not in response.headers:
                self.tally.events.update(_events(response))
        elif response.status_code != 200:
            self.tally.reject(action.kind, response.status_code, response.text)


def _events(response: httpx.Response) -> list[str]:
    try:
        found = response.json().get("events", [])
    except ValueError:
        return []
    return [str(name) for name in found] if isinstance(found, list) else []
