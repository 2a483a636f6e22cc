"""The contact vocabulary every service and the console speak: channels, parties and the
outcomes of a contact attempt (pure: the domain uses it too). One list each, so a new
outcome is added in one place and every body, rule and form knows it."""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["call", "sms", "email", "app_push", "letter", "visit"]
Party = Literal["borrower", "spouse", "co_borrower", "guarantor", "employer", "emergency_contact"]
Outcome = Literal[
    "right_party_contact",
    "third_party_contact",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "disconnected",
    "refused_to_pay",
    "delivered",
    "failed",
]

CHANNELS: tuple[str, ...] = get_args(Channel)
PARTIES: tuple[str, ...] = get_args(Party)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
