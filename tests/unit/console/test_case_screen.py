"""What the case screen does with the services' answers: masking numbers, placing errors."""

from __future__ import annotations

from console_service.backends import BackendError
from console_service.web.case import ATTEMPT_FIELDS, field_errors, mask


def test_a_number_shows_only_its_country_code_and_last_four_digits() -> None:
    assert mask("+8613800000001") == "+86*******0001"
    assert mask("13800000001") == "13*****0001"
    assert mask("li.wei@example.com") == "l***@example.com"
    assert mask("123") == "***"


def test_a_field_error_lands_beside_the_forms_own_field() -> None:
    refused = BackendError(
        422, {"errors": [{"field": "body.contact_point", "message": "too long"}]}
    )
    assert field_errors(refused, ATTEMPT_FIELDS) == {"number": "too long"}


def test_an_error_about_a_field_the_form_lacks_is_shown_above_the_form() -> None:
    refused = BackendError(422, {"errors": [{"field": "occurred_at", "message": "in the future"}]})
    assert field_errors(refused, ATTEMPT_FIELDS)["form"] == "occurred_at: in the future"


def test_a_refusal_without_fields_is_never_silent() -> None:
    refused = BackendError(409, {"detail": "the case is closed"})
    assert field_errors(refused, ATTEMPT_FIELDS) == {"form": "the case is closed"}
