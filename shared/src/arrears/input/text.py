"""Texts: no control characters (C0, DEL, C1) but newline and tab in free-text notes, no
surrogates or non-characters, a maximum length for every text, never blank."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

# C0 controls, DEL and C1 controls; \t and \n are allowed only in notes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_NOTE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone surrogates and the Unicode non-characters U+FFFE, U+FFFF.
_BROKEN = re.compile("[\ud800-\udfff\ufffe\uffff]")
# Characters that make text read other than it is stored: bidirectional embeddings, overrides
# and isolates (a reversed "Trojan source" name), line and paragraph separators (a second line
# where one is promised), zero-width space and the byte-order mark. Zero-width (non-)joiners
# stay: scripts and emoji need them.
_DECEPTIVE = re.compile("[\u202a-\u202e\u2066-\u2069\u2028\u2029\u200b\ufeff]")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+#-]*$")


def check_text(value: object, *, max_length: int, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if not value.strip():
        raise ValueError("must not be blank")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    control = _CONTROL_IN_NOTE if multiline else _CONTROL
    if control.search(value):
        allowed = " (newline and tab are allowed)" if multiline else ""
        raise ValueError(f"must not contain control characters{allowed}")
    if _BROKEN.search(value):
        raise ValueError("must be valid Unicode text")
    if _DECEPTIVE.search(value):
        raise ValueError(
            "must not contain bidirectional controls, line separators or invisible characters"
        )
    return value


def _text(max_length: int, multiline: bool = False) -> Any:
    def validate(value: object) -> str:
        return check_text(value, max_length=max_length, multiline=multiline)

    return BeforeValidator(validate)


def _identifier(value: object) -> str:
    text = check_text(value, max_length=100)
    if not _IDENTIFIER.fullmatch(text):
        raise ValueError(
            "must be an identifier: letters, digits and . _ : / @ + # - (starting with a "
            "letter or digit)"
        )
    return text


def _schema(max_length: int, description: str, pattern: str | None = None) -> WithJsonSchema:
    schema: dict[str, Any] = {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "description": description,
    }
    if pattern:
        schema["pattern"] = pattern
    return WithJsonSchema(schema)


# One line of text: a name, a court, a reason.
Text = Annotated[str, _text(500), _schema(500, "one line of text, no control characters")]
# Free text: notes, descriptions, addresses; newline and tab allowed.
Note = Annotated[
    str, _text(4000, multiline=True), _schema(4000, "free text; newline and tab allowed")
]
# Ids a bank's systems give us: loan ids, borrower ids, references, docket numbers.
Identifier = Annotated[
    str,
    BeforeValidator(_identifier),
    _schema(100, "an identifier", _IDENTIFIER.pattern),
]
