"""A case's policy (`CasePolicy.with_case_rules`): whichever memo answers (the rules' identity,
a recent rule set of the same names, their items), the policy derived from exactly these
rules, as `dataclasses.replace` gives it."""

from __future__ import annotations

import copy
import dataclasses
from decimal import Decimal
from typing import Any

from case_service.domain.policy import CASE_RULES, DEFAULT_POLICY, CasePolicy
from hypothesis import given, settings
from hypothesis import strategies as st

# Values a case's rules hold (as JSON gives them back), with near misses of one another:
# equal Decimals of other exponents, lists of the same length. (Equal values of other types,
# 1 and True, a list and a tuple, share a policy, as they always did: no case holds them.)
values = {
    "promise_horizon_days": st.sampled_from([30, 14, 1]),
    "limitation_years": st.sampled_from([3, 2]),
    "write_off_min_days_past_due": st.sampled_from([90, 180]),
    "max_claim_multiple": st.sampled_from([Decimal("2"), Decimal("2.0"), Decimal("2.5")]),
    "lost_contact_caller_lines": st.sampled_from([[], ["US-RegF"], ["UK-CONC"]]),
    "business_timezone": st.sampled_from(["Asia/Shanghai", "America/Los_Angeles"]),
}


@st.composite
def rule_sets(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.permutations(CASE_RULES))  # in another order too
    names = names[: draw(st.integers(len(names) - 1, len(names)))]  # or one missing
    return {name: draw(values[name]) for name in names}


def _expected(rules: dict[str, Any]) -> CasePolicy:
    return dataclasses.replace(DEFAULT_POLICY, **rules)


@settings(max_examples=200, deadline=None)
@given(st.lists(rule_sets(), min_size=1, max_size=30), st.randoms())
def test_each_case_gets_the_policy_of_exactly_its_rules(
    sets: list[dict[str, Any]], rng: Any
) -> None:
    base = CasePolicy()  # a memo of its own
    asked = [copy.deepcopy(rules) for rules in sets] + [rng.choice(sets) for _ in sets]
    for rules in asked:
        got = base.with_case_rules(rules)
        assert got == _expected(rules)
        assert [type(getattr(got, f.name)) for f in dataclasses.fields(got)] == [
            type(getattr(_expected(rules), f.name)) for f in dataclasses.fields(got)
        ]
        assert base.with_case_rules(rules) is got  # by identity, the same object again


def test_rules_read_afresh_share_the_policy_derived_for_equal_rules() -> None:
    """The point of the memo: a case read afresh (a new rules dict, equal to many before)
    gets the policy already derived, not a new one; unequal rules never do."""
    base = CasePolicy()
    first = base.with_case_rules(DEFAULT_POLICY.case_rules())
    for _ in range(3):
        assert base.with_case_rules(DEFAULT_POLICY.case_rules()) is first
    other = {**DEFAULT_POLICY.case_rules(), "max_claim_multiple": Decimal("2.5")}
    assert base.with_case_rules(other).max_claim_multiple == Decimal("2.5")
    many = [{**DEFAULT_POLICY.case_rules(), "promise_horizon_days": n} for n in range(1, 20)]
    for rules in many:  # more rule sets of the same names than are compared in turn
        assert (
            base.with_case_rules(dict(rules)).promise_horizon_days == rules["promise_horizon_days"]
        )
    assert base.with_case_rules(DEFAULT_POLICY.case_rules()) == first
