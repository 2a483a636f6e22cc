"""JSON Schemas of the case events' `data`, generated from the catalogue (DESIGN §4).

`python -m case_service.relay.schemas [docs/schemas]` writes one file per event type
(`collections.case.<Name>.json`) plus the envelope; a test checks the checked-in files
match. Money (Decimal) is a decimal string; dates and times are ISO 8601 strings.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from arrears.messaging.envelope import SCHEMA_BASE_URL, case_event_type, schema_url

from case_service.domain import EVENT_CLASSES
from case_service.pii.fields import HOW_TO_DECRYPT, SEALED_SCHEMA, leaf_paths

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "decimal amount"}
_STREAM_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def type_schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [type_schema(a) for a in typing.get_args(hint)]
        return {"anyOf": options}
    if hint is type(None):
        return {"type": "null"}
    if hint is Any:
        return {}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    if hint is Decimal:
        return dict(DECIMAL)
    if hint is datetime:
        return {"type": "string", "format": "date-time"}
    if hint is date:
        return {"type": "string", "format": "date"}
    if hint is UUID:
        return {"type": "string", "format": "uuid"}
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return {"type": "array", "items": type_schema(item)}
    if origin is dict:
        _, value = typing.get_args(hint) or (str, Any)
        schema: dict[str, Any] = {"type": "object"}
        if value is not Any:
            schema["additionalProperties"] = type_schema(value)
        return schema
    raise TypeError(f"no JSON Schema mapping for {hint!r}")


def event_schema(name: str, cls: type[Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = {
        field: hint
        for field, hint in hints.items()
        if field not in _STREAM_FIELDS and typing.get_origin(hint) is not typing.ClassVar
    }
    event_type = case_event_type(name)
    personal = list(getattr(cls, "personal_data", ()))
    # A field a later class_version added is optional in the published schema: within a major
    # version a schema only gains optional fields, and older messages on the topic lack it.
    added = dict(getattr(cls, "fields_added", {}))
    properties = {field: type_schema(hint) for field, hint in sorted(fields.items())}
    for field in personal:  # a personal text is published sealed (docs/messaging.md)
        if field in properties and {"type": "string"} in _options(properties[field]):
            sealed = [{"$ref": "#/$defs/sealed"}, {"const": "[erased]"}]
            nullable = {"type": "null"} in _options(properties[field])
            properties[field] = {"anyOf": [*sealed, {"type": "null"}] if nullable else sealed}
    extra: dict[str, Any] = {}
    if personal:
        extra = {
            "x-personal-leaves": leaf_paths(tuple(personal)),
            "x-personal-data-encryption": HOW_TO_DECRYPT,
            "$defs": {"sealed": SEALED_SCHEMA},
        }
    return {
        "$schema": DRAFT,
        "$id": schema_url(event_type),
        "title": event_type,
        "description": _describe(name, cls),
        "type": "object",
        "properties": properties,
        "required": sorted(field for field in fields if field not in added),
        # Within a major version schemas only gain optional fields, so accept unknown ones.
        "additionalProperties": True,
        "x-class-version": int(getattr(cls, "class_version", 1)),
        "x-personal-data": personal,
        **extra,
    }


def _options(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return list(schema.get("anyOf", [schema]))


def _describe(name: str, cls: type[Any]) -> str:
    doc = (cls.__dict__.get("__doc__") or "").strip()
    if not doc or doc.startswith(f"{cls.__name__}("):  # the dataclass's generated signature
        return f"Data of the {name} case event."
    return doc.splitlines()[0]


def envelope_schema() -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": f"{SCHEMA_BASE_URL}envelope.json",
        "title": "Arrears CloudEvents 1.0 envelope (structured JSON)",
        "type": "object",
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
            "data",
        ],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "minLength": 1},
            "source": {"type": "string", "minLength": 1, "format": "uri-reference"},
            "type": {"type": "string", "pattern": r"^collections\.[a-z]+\.[A-Za-z]+$"},
            "subject": {"type": "string", "minLength": 1},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "dataschema": {"type": "string", "format": "uri"},
            "sequence": {"type": "integer", "minimum": 1},
            "caseversion": {"type": "integer", "minimum": 1},
            "classversion": {"type": "integer", "minimum": 1},
            "correlationid": {"type": "string"},
            "personaldata": {"type": "string", "description": "comma-separated data fields"},
            "data": {"type": "object"},
        },
    }


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every event type in the catalogue and the envelope."""
    out = {f"{case_event_type(n)}.json": event_schema(n, c) for n, c in EVENT_CLASSES.items()}
    out["envelope.json"] = envelope_schema()
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in sorted(generate().items()):
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")
    for path in write(target):
        print(path)
