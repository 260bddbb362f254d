"""The per-account form type (and filing requirement) override: stored per year, audited, permission checked."""
from __future__ import annotations

import json

import pytest

from core.actions import ActionFailed, Context
from core.auth import Actor, PermissionDenied, Role
from core.tax.overrides import overrides_for_year, set_override
from core.tax.readiness import tax_year_report
from tests.tax.conftest import Mirror, many_direct_charges, ts

FINANCE = Actor(email="fin@corp.com", role=Role.FINANCE)


def ctx(mirror: Mirror) -> Context:
    return Context(mirror.store, None)  # type: ignore[arg-type]  # nothing here talks to Stripe


def form(mirror: Mirror, account: str, year: int = 2025):
    return next(f for f in tax_year_report(mirror.store.cursor(), year).forms if f.stripe_account_id == account)


def audit_rows(mirror: Mirror) -> list[tuple]:
    return mirror.store.cursor().execute(
        "SELECT actor_email, action, account_id, params, reason, result FROM audit_log ORDER BY id").fetchall()


def test_form_type_override_is_stored_per_year_and_audited(mirror: Mirror) -> None:
    acct = mirror.account(state="TX")
    mirror.credit_transfer(acct, 70_000, ts(2025, 3, 1))
    mirror.credit_transfer(acct, 70_000, ts(2026, 3, 1))
    assert form(mirror, acct).form_type == "k"
    result = set_override(ctx(mirror), FINANCE, acct, 2025, "nec", "DEFAULT", "Pays couriers for deliveries")
    assert result.audit_id and "1099-NEC" in result.message
    got = form(mirror, acct)
    assert (got.form_type, got.form_type_overridden, got.federal_filing_required, got.status) == \
        ("nec", True, True, "Ready")
    assert form(mirror, acct, 2026).form_type == "k"  # 2026's form is untouched
    (email, action, account, params, reason, outcome), = audit_rows(mirror)
    assert (email, action, account, reason, outcome) == (FINANCE.email, "tax_form_override", acct,
                                                         "Pays couriers for deliveries", "succeeded")
    assert json.loads(params) == {"tax_year": 2025, "form_type": "nec", "filing_requirement": "DEFAULT"}
    set_override(ctx(mirror), FINANCE, acct, 2025, None, "DEFAULT", "Back to the platform default")
    assert overrides_for_year(mirror.store.cursor(), 2025) == {} and form(mirror, acct).form_type == "k"


def test_filing_requirement_overrides_change_the_status(mirror: Mirror) -> None:
    small, incomplete = mirror.account(state="TX"), mirror.account(state="TX", tin=False)
    mirror.direct_charge(small, 1_000, ts(2025, 3, 1))
    many_direct_charges(mirror, incomplete, [10_000] * 201, ts(2025, 3, 1))
    assert (form(mirror, small).status, form(mirror, incomplete).status) == ("Will not file", "Needs attention")
    set_override(ctx(mirror), FINANCE, small, 2025, None, "REQUIRED_EVEN_IF_BELOW_THRESHOLD", "Merchant asked")
    set_override(ctx(mirror), FINANCE, incomplete, 2025, None, "REQUIRED_EVEN_IF_INCOMPLETE", "File on time")
    assert (form(mirror, small).status, form(mirror, small).filing_requirement) == \
        ("Ready", "REQUIRED_EVEN_IF_BELOW_THRESHOLD")
    assert (form(mirror, incomplete).status, form(mirror, incomplete).missing) == ("Ready", ["TIN missing"])
    set_override(ctx(mirror), FINANCE, incomplete, 2025, None, "NOT_REQUIRED", "Filed elsewhere")
    assert form(mirror, incomplete).status == "Will not file"


def test_only_finance_and_admin_may_override_and_refusals_are_audited(mirror: Mirror) -> None:
    acct = mirror.account()
    for role in (Role.SUPPORT, Role.RISK):
        with pytest.raises(PermissionDenied, match="tax form override"):
            set_override(ctx(mirror), Actor(email="x@corp.com", role=role), acct, 2025, "nec", "DEFAULT", "Because")
    assert [r[-1] for r in audit_rows(mirror)] == ["denied", "denied"]
    set_override(ctx(mirror), Actor(email="ada@corp.com", role=Role.ADMIN), acct, 2025, "nec", "DEFAULT", "Because")
    viewer = Actor(email="local", role=Role.ADMIN, read_only=True)
    with pytest.raises(PermissionDenied, match="read-only"):
        set_override(ctx(mirror), viewer, acct, 2025, "k", "DEFAULT", "Because")


def test_bad_input_is_refused_in_words(mirror: Mirror) -> None:
    us, canadian = mirror.account(), mirror.account(country="CA")
    cases = [((us, 2025, "nec", "DEFAULT", "no"), "reason of at least"),
             ((us, 2025, "w2", "DEFAULT", "Because"), "Form type must be"),
             ((us, 2025, "k", "SOMETIMES", "Because"), "Filing requirement must be"),
             ((canadian, 2025, "k", "DEFAULT", "Because"), "not a US account"),
             (("acct_missing", 2025, "k", "DEFAULT", "Because"), "No connected account")]
    for args, message in cases:
        with pytest.raises(ActionFailed, match=message):
            set_override(ctx(mirror), FINANCE, *args)  # type: ignore[arg-type]
    assert overrides_for_year(mirror.store.cursor(), 2025) == {}
