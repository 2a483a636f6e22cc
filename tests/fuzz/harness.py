"""The fuzz tier's driver: schemathesis generates requests from a service's own OpenAPI
(valid ones and deliberately invalid ones), sends them in-process (ASGI) with a token of a
random role, and checks what no input may cause (issue 15):

- no 5xx, ever;
- a 2xx body conforms to the response schema the OpenAPI documents;
- a 4xx is an RFC 9457 problem+json whose `status` is the response's.

The same checks run on hand-made attacks (the issue's): every query and path parameter
beyond bigint or with NUL bytes, and each field of a valid command made hostile.

Bounded for CI (the tier takes about a minute): MAX_EXAMPLES requests per operation, no
deadline, derandomized (the same inputs on every run), no shrinking (a failure prints the
request as generated)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import schemathesis
from _pytest.mark.structures import ParameterSet
from arrears.auth import ROLES, issue_token
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

# Requests per operation (valid and invalid, every role, unknown and seeded cases); a
# deeper run: FUZZ_MAX_EXAMPLES=1000 make test PYTEST_ARGS=tests/fuzz
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
_METHODS = ("get", "put", "post", "patch", "delete")

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


_OFFSETS = [timezone(timedelta(minutes=m)) for m in (0, 480, -300, 345, 840, -720)]
_NEAR = timedelta(days=400)


def _near_now(seconds: int, zone: timezone) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).astimezone(zone).isoformat()


def _near_today(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


# Valid times and dates are mostly near now (so that commands pass the business window and
# reach the domain), sometimes anywhere in the sane range (so that the window is tried).
schemathesis.openapi.format(
    "date-time",
    st.one_of(
        st.builds(
            _near_now,
            st.integers(-int(_NEAR.total_seconds()), 60),
            st.sampled_from(_OFFSETS),
        ),
        st.datetimes(
            datetime(1970, 1, 2), datetime(2199, 12, 30), timezones=st.sampled_from(_OFFSETS)
        ).map(datetime.isoformat),
    ),
)
schemathesis.openapi.format(
    "date",
    st.one_of(
        st.builds(_near_today, st.integers(-_NEAR.days, 1)),
        st.dates(date(1970, 1, 2), date(2199, 12, 30)).map(date.isoformat),
    ),
)


def operations(spec: dict[str, Any]) -> list[str]:
    """`METHOD /path` of every operation in an OpenAPI document, in a stable order."""
    paths: dict[str, dict[str, Any]] = spec["paths"]
    return [
        f"{method.upper()} {path}"
        for path, item in sorted(paths.items())
        for method in _METHODS
        if method in item
    ]


def load(app: FastAPI) -> Any:
    """The app's OpenAPI as schemathesis sees it; loading it starts the app's lifespan (in
    schemathesis's own event loop thread, where every request then runs)."""
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def bearer(secret: str) -> dict[str, str]:
    """A token of every role, issued as the embedded identity provider does."""
    return {
        role: "Bearer " + issue_token(secret, role, f"fuzz-{role}", timedelta(hours=2))
        for role in sorted(ROLES)
    }


def _keyed(case: Any, key: Any) -> Any:
    case.headers = {**(case.headers or {}), "Idempotency-Key": f"fuzz-{key}"}
    return case


def _strategies(operation: Any, case_ids: Sequence[str]) -> Iterable[Any]:
    """Requests as generated, and on the seeded cases; commands (POST on a case) also with a
    fresh Idempotency-Key, so that more of them get past the header to the domain."""
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        yield operation.as_strategy(generation_mode=mode)
        if "{case_id}" not in operation.path:
            continue
        for case_id in case_ids:
            on_case = operation.as_strategy(
                generation_mode=mode, path_parameters={"case_id": case_id}
            )
            yield on_case
            if operation.method.upper() == "POST":
                yield st.builds(_keyed, on_case, st.uuids())


def check_response(case: Any, response: Any) -> None:
    status = response.status_code
    body = None if type(case.body).__name__ == "NotSet" else case.body
    sent = f"{case.method} {case.formatted_path} query={case.query} body={body!r}"[:2000]
    assert status < 500, f"{status} for {sent}: {response.content[:500]!r}"
    if 200 <= status < 300:
        case.validate_response(response, checks=[response_schema_conformance])
    elif status >= 400:
        media = response.headers.get("content-type", [""])
        media = media[0] if isinstance(media, list) else media
        assert media.startswith("application/problem+json"), f"{status} as {media} for {sent}"
        problem = json.loads(response.content)
        assert problem.get("status") == status, f"{problem} for {sent}"
        assert isinstance(problem.get("title"), str)


def fuzz(schema: Any, label: str, tokens: dict[str, str], case_ids: Sequence[str]) -> None:
    """Fuzz one operation (`METHOD /path`), as every role, on unknown and on seeded cases."""
    method, path = label.split(" ", 1)
    operation = schema[path][method]

    @FUZZ_SETTINGS
    @given(case=st.one_of(*_strategies(operation, case_ids)), role=st.sampled_from(sorted(tokens)))
    def run(case: Any, role: str) -> None:
        response = case.call(headers={"Authorization": tokens[role]})
        check_response(case, response)

    run()


# Values the issue's attacks used on parameters: beyond bigint, and NUL bytes.
HUGE = ("99999999999999999999", "-99999999999999999999")
NUL = ("\x00", "a\x00b")


def _types(schema: dict[str, Any]) -> set[str]:
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for option in schema.get("anyOf", []):
        found |= _types(option)
    return found


def _path_parameters(spec: dict[str, Any], label: str) -> list[dict[str, Any]]:
    method, path = label.split(" ", 1)
    declared = spec["paths"][path][method.lower()].get("parameters", [])
    return [p for p in declared if p["in"] in ("query", "path")]


def parameter_attacks(spec: dict[str, Any], labels: Iterable[str]) -> list[Any]:
    """pytest params `(operation, where, name, value)` for every query and path parameter:
    integers beyond bigint, strings with NUL bytes (the issue's attacks on parameters)."""
    out = []
    for label in labels:
        for param in _path_parameters(spec, label):
            kinds = _types(param.get("schema", {}))
            values = HUGE if "integer" in kinds else NUL if "string" in kinds else ()
            where, name = param["in"], param["name"]
            out.extend(
                pytest.param((label, where, name, value), id=f"{label} {where} {name}={value!r}")
                for value in values
            )
    return out


def known(params: Iterable[Any], server_errors: dict[str, str]) -> list[Any]:
    """The params, those whose id is in `server_errors` marked xfail with its reason (a 5xx
    found in a service this branch does not own; its owner fixes it)."""
    out = []
    for param in params:
        if not isinstance(param, ParameterSet):
            param = pytest.param(param, id=str(param))
        reason = server_errors.get(str(param.id))
        if reason is not None:
            xfail = pytest.mark.xfail(reason=f"{param.id}: {reason}", strict=False)
            param = pytest.param(*param.values, id=param.id, marks=[*param.marks, xfail])
        out.append(param)
    return out


def attack_parameter(
    schema: Any, attack: tuple[str, str, str, str], case_id: str, token: str
) -> None:
    """Send one hostile parameter (the other path parameters name a seeded case; a command
    gets an empty body) and check the answer as a generated request's."""
    label, where, name, value = attack
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    params = _path_parameters(schema.raw_schema, label)
    base = {
        p["name"]: case_id if p["name"] == "case_id" else "x" for p in params if p["in"] == "path"
    }
    case = operation.Case(
        path_parameters={**base, name: value} if where == "path" else base,
        query={name: value} if where == "query" else {},
        body={} if method in ("POST", "PUT", "PATCH") else schemathesis.core.NOT_SET,
    )
    check_response(case, case.call(headers={"Authorization": token}))


# The issue's attacks on body fields, by kind of field.
HOSTILE: dict[str, tuple[Any, ...]] = {
    "instant": (
        "0001-01-01T00:00:00.0+00:01",  # below year 1 once in UTC
        "9999-12-31T23:59:59Z",  # overflows date arithmetic (the contact guard)
        "9999-12-31T23:59:59-23:59",
        "1900-01-01T00:00:00Z",
        1796000000,
    ),
    "date": ("0001-01-01", "9999-12-31", "1900-01-01", 20261001),
    "text": ("\x00", "a\x1b[31mb\x07", "x" * 70_000),
    "money": ("1e400", "1e5", "99999999999999999999.99", "NaN", 1e308),
    "integer": (99999999999999999999, -99999999999999999999, True),
}


def body_attacks(bases: dict[str, tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    """pytest params `(operation, body)`: each base body with one field made hostile."""
    out = []
    for label, (base, fields) in bases.items():
        for field, kind in fields.items():
            for n, value in enumerate(HOSTILE[kind]):
                shown = repr(value)[:40]
                out.append(
                    pytest.param(label, {**base, field: value}, id=f"{label} {field}[{n}]={shown}")
                )
    return out


def _fill(value: Any, case_id: str) -> Any:
    """Placeholders in a base body: {case_id}, {now} (an instant), {today}, {soon}."""
    if isinstance(value, dict):
        return {k: _fill(v, case_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, case_id) for v in value]
    if not isinstance(value, str):
        return value
    now = datetime.now(UTC)
    return (
        value.replace("{case_id}", case_id)
        .replace("{now}", (now - timedelta(minutes=10)).isoformat())
        .replace("{today}", (now.date() - timedelta(days=1)).isoformat())
        .replace("{soon}", (now.date() + timedelta(days=3)).isoformat())
    )


def attack_body(schema: Any, label: str, case_id: str, body: Any, token: str) -> None:
    """Send one hand-made command (a fresh Idempotency-Key) and check the answer."""
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    params = _path_parameters(schema.raw_schema, label)
    base = {
        p["name"]: case_id if p["name"] == "case_id" else "x" for p in params if p["in"] == "path"
    }
    key = {"Idempotency-Key": f"attack-{uuid.uuid4().hex}"}
    case = operation.Case(path_parameters=base, body=_fill(body, case_id), headers=key)
    check_response(case, case.call(headers={"Authorization": token}))
