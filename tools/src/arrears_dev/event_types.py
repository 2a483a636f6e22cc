"""`python -m arrears_dev.event_types [--check]`: the consumers' typed event classes
(shared/src/arrears/events/catalogue.py) generated from the catalogue's JSON Schemas
(docs/schemas, themselves generated from case-service's events). `--check` fails when the
checked-in module is stale; a test does the same.
"""

from __future__ import annotations

import argparse
import json
import keyword
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / "docs" / "schemas"
TARGET = REPO / "shared" / "src" / "arrears" / "events" / "catalogue.py"
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"

HEADER = '''"""Typed data of every case event, for consumers.

Generated from docs/schemas by `python -m arrears_dev.event_types`: do not edit by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self

from arrears.events.types import (
    CaseEventData,
    boolean,
    day,
    decimal,
    int_map,
    integer,
    moment,
    obj,
    objects,
    optional,
    text,
    texts,
)
'''


def field_type(schema: dict[str, Any]) -> tuple[str, str | None, bool]:
    """(annotation, converter, nullable) for one property's schema; no converter: Any."""
    options = schema.get("anyOf")
    if options is not None:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1 and len(kept) < len(options):
            annotation, convert, _ = field_type(kept[0])
            return annotation, convert, True
        return "Any", None, False
    kind, fmt = schema.get("type"), schema.get("format")
    simple: dict[tuple[Any, Any], tuple[str, str]] = {
        ("string", "date-time"): ("datetime", "moment"),
        ("string", "date"): ("date", "day"),
        ("integer", None): ("int", "integer"),
        ("boolean", None): ("bool", "boolean"),
    }
    if (kind, fmt) in simple:
        annotation, convert = simple[(kind, fmt)]
    elif kind == "string":
        decimal = schema.get("pattern") == DECIMAL_PATTERN
        annotation, convert = ("Decimal", "decimal") if decimal else ("str", "text")
    elif kind == "object":
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and values.get("type") == "integer":
            annotation, convert = "Mapping[str, int]", "int_map"
        else:
            annotation, convert = "Mapping[str, Any]", "obj"
    elif kind == "array" and schema.get("items", {}).get("type") == "string":
        annotation, convert = "tuple[str, ...]", "texts"
    elif kind == "array":
        annotation, convert = "tuple[Mapping[str, Any], ...]", "objects"
    else:
        return "Any", None, False
    return annotation, convert, False


def render_class(schema: dict[str, Any]) -> str:
    name = str(schema["title"]).rsplit(".", 1)[-1]
    required = set(schema.get("required", []))
    fields, reads = [], []
    for prop, spec in sorted(schema["properties"].items()):
        attribute = f"{prop}_" if keyword.iskeyword(prop) else prop
        annotation, convert, nullable = field_type(spec)
        given = prop in required
        value = f"data[{prop!r}]" if given else f"data.get({prop!r})"
        if convert is None:
            read = value
        elif nullable or not given:
            read = f"optional({convert}, {value})"
        else:
            read = f"{convert}({value})"
        if (nullable or not given) and annotation != "Any":
            annotation += " | None"
        fields.append(f"    {attribute}: {annotation}" + ("" if given else " = None"))
        reads.append(f"            {attribute}={read},")
    body = "\n".join(fields) if fields else "    pass"
    return (
        f"\n\n@dataclass(frozen=True, slots=True, kw_only=True)\n"
        f"class {name}(CaseEventData):\n"
        f'    """{schema.get("description", name)}"""\n\n'
        f"    event_name: ClassVar[str] = {name!r}\n"
        f"{body}\n\n"
        f"    @classmethod\n"
        f"    def from_data(cls, data: Mapping[str, Any]) -> Self:\n"
        f"        return cls(\n" + "\n".join(reads) + "\n        )\n"
    )


def render(schemas: Path = SCHEMAS) -> str:
    loaded = [
        json.loads(path.read_text()) for path in sorted(schemas.glob("collections.case.*.json"))
    ]
    names = [str(s["title"]).rsplit(".", 1)[-1] for s in loaded]
    code = HEADER + "".join(render_class(s) for s in loaded)
    code += "\n\nCASE_EVENT_TYPES: dict[str, type[CaseEventData]] = {\n"
    code += "".join(f"    {name!r}: {name},\n" for name in names) + "}\n"
    return _formatted(code)


def _formatted(code: str) -> str:
    """As `ruff format` leaves it, so the checked-in module passes the format check."""
    result = subprocess.run(  # noqa: S603 - our own ruff on our own code
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=code.encode(),
        capture_output=True,
        check=True,
        cwd=REPO,
    )
    return result.stdout.decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arrears_dev.event_types")
    parser.add_argument("--check", action="store_true", help="fail if the module is stale")
    args = parser.parse_args(argv)
    code = render()
    if args.check:
        if TARGET.read_text() != code:
            print(f"{TARGET} is stale: run python -m arrears_dev.event_types", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(code)
    print(TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
