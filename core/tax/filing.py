"""The filing season: forms marked filed keep their figures frozen beside the live ones, and a filed form whose
boxes or payee details change later reads "Correction needed", box by box.

Stripe files a correction when an import updates a form already filed (Stripe Docs, 'Correct tax forms',
docs.stripe.com/connect/correct-tax-forms: "Stripe 1099 intelligently files Corrections if the form was
initially accepted"), so the correction file is the import CSV of the forms that changed, with their new
figures. Marking forms filed (all of a year's Ready forms, or the rows of an import file) is an action on
the one action path (core/actions.perform): the permission is checked first, a refusal is audited, the audit
row and the frozen figures are written in one transaction. Filing a correction marks the corrected forms
filed again, so every change of a filed form has its audit row. Nothing here calls Stripe.

The frozen figures live in `tax_filed_forms` (one row per account and tax year), a people's record
in the records database (core/mirror/records.py), like the overrides: never rebuilt from Stripe.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from core.actions import ActionFailed, ActionResult, Context, perform
from core.auth import Actor
from core.clock import utc_now
from core.tax.export import import_csv
from core.tax.readiness import TaxForm, TaxYearReport
from core.tax.rules import FORM_LABELS

ACTION = "tax_mark_filed"
BOX_WORDS = {"form_type": "form type", "gross_amount": "gross (1a / 1 / 3)", "card_not_present_amount": "card not "
             "present (1b)", "transaction_count": "payment transactions (3)", "federal_income_tax_withheld":
             "federal tax withheld (4)", "state": "state", "state_income": "state income", "state_tax_withheld":
             "state tax withheld", "payee_name": "payee name", "payee_address": "payee address", "tin": "TIN"}
MAX_IMPORT_BYTES = 50_000_000


def filed_for_year(cur: duckdb.DuckDBPyConnection, tax_year: int) -> dict[str, dict[str, Any]]:
    """The year's filed figures by account (none before anything was ever filed)."""
    try:
        rows = cur.execute("SELECT account_id, boxes, filed_at, filed_by FROM tax_filed_forms WHERE tax_year = ?",
                           [tax_year]).fetchall()
    except duckdb.CatalogException:
        return {}
    return {a: {**json.loads(b), "filed_at": str(at), "filed_by": by} for a, b, at, by in rows}


def differences(filed: dict[str, Any], live: dict[str, Any]) -> list[dict[str, Any]]:
    """Box by box, what the filed form says and what it would say now (months one by one)."""
    out = []
    for key, words in BOX_WORDS.items():
        if filed.get(key) != live.get(key):
            out.append({"box": words, "filed": filed.get(key), "now": live.get(key)})
    filed_months, live_months = filed.get("monthly_amounts") or [0] * 12, live["monthly_amounts"]
    for month, (was, now) in enumerate(zip(filed_months, live_months), start=1):
        if was != now:
            out.append({"box": f"month {month} (5{'abcdefghijkl'[month - 1]})", "filed": was, "now": now})
    return out


def with_filing(report: TaxYearReport, filed: dict[str, dict[str, Any]]) -> TaxYearReport:
    """The report with each filed form's frozen figures, and whether it needs a correction."""
    forms = []
    for form in report.forms:
        frozen = filed.get(form.stripe_account_id)
        if frozen is None:
            forms.append(form)
            continue
        diff = differences(frozen, form.boxes())
        forms.append(form.model_copy(update={"filed_amounts": frozen, "correction_needed": bool(diff),
                                             "differences": diff}))
    return report.model_copy(update={"forms": forms})


def filing_words(form: TaxForm) -> str:
    if form.filed_amounts is None:
        return "Not filed"
    return "Correction needed" if form.correction_needed else "Filed"


def corrections(forms: Iterable[TaxForm]) -> list[TaxForm]:
    return [f for f in forms if f.correction_needed]


def correction_csv(forms: Iterable[TaxForm]) -> str:
    """Stripe's import file for the filed forms that changed: their new figures (an Update import of a filed form
    makes Stripe file the correction)."""
    return import_csv(corrections(forms))


def accounts_in_import(text: str) -> list[str]:
    """The `stripe_account_id` column of an import file finance uploaded (one line when it is not one)."""
    if len(text) > MAX_IMPORT_BYTES:
        raise ActionFailed("The file is larger than 50 MB: not an import file of this platform.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if "stripe_account_id" not in (reader.fieldnames or []):
        raise ActionFailed("The file has no stripe_account_id column: upload the import CSV that was filed.")
    ids = [(row.get("stripe_account_id") or "").strip() for row in reader]
    ids = [i for i in ids if i]
    if not ids:
        raise ActionFailed("The file has no rows with a stripe_account_id.")
    return ids


def mark_filed(ctx: Context, actor: Actor, report: TaxYearReport, reason: str,
               account_ids: Sequence[str] | None = None) -> ActionResult:
    """Freeze the live figures of the year's Ready forms (or of `account_ids`) as filed. A form already filed
    with other figures is replaced: that change is in this action's audit row (which forms, before and after)."""
    chosen, problem = _chosen(report, account_ids)
    now = {f.stripe_account_id: f.boxes() for f in chosen}
    before = {f.stripe_account_id: f.filed_amounts for f in chosen if f.filed_amounts is not None}
    changed = sorted(a for a, was in before.items() if differences(was, now[a]))
    digest = hashlib.sha256(json.dumps(now, sort_keys=True, default=str).encode()).hexdigest()[:16]
    params = {"tax_year": report.year, "forms": len(chosen), "accounts": sorted(now), "figures": digest,
              "refiled": changed, "refiled_before": {a: before[a] for a in changed}}

    def record(conn: duckdb.DuckDBPyConnection, _obj: Any, audit_id: int) -> None:
        conn.executemany("DELETE FROM tax_filed_forms WHERE account_id = ? AND tax_year = ?",
                         [[a, report.year] for a in now])
        conn.executemany("INSERT INTO tax_filed_forms VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [[a, report.year, boxes["form_type"], json.dumps(boxes), utc_now(), actor.email, audit_id]
                          for a, boxes in now.items()])

    def call(_key: str) -> None:  # after the permission check: a refusal is audited before any input is judged
        if problem:
            raise ActionFailed(problem)

    words = f"{len(chosen):,} {report.year} form{'s' if len(chosen) != 1 else ''} marked filed" + (
        f", {len(changed):,} of them replacing filed figures (corrections)" if changed else "")
    return perform(ctx, actor, ACTION, account_id=chosen[0].stripe_account_id if len(chosen) == 1 else None,
                   target_id=f"tax_year:{report.year}", params=params, reason=reason, call=call,
                   resync=lambda _obj: [], done=lambda _obj: ActionResult(message=words + ".", audit_id=None),
                   record=record)


def _chosen(report: TaxYearReport, account_ids: Sequence[str] | None) -> tuple[list[TaxForm], str | None]:
    """The forms to mark, and what is wrong with the request (judged only after the permission check)."""
    if account_ids is None:
        chosen = [f for f in report.forms if f.status == "Ready"]  # what Stripe files: complete, to file
    else:
        by_id = {f.stripe_account_id: f for f in report.forms}
        unknown = [a for a in dict.fromkeys(account_ids) if a not in by_id]
        if unknown:
            return [], (f"{len(unknown):,} account(s) have no {report.year} form here, e.g. {unknown[0][:40]}: "
                        "nothing was marked filed.")
        chosen = [by_id[a] for a in dict.fromkeys(account_ids)]
    return chosen, None if chosen else f"No {report.year} form to mark filed."


def label(form: TaxForm) -> str:
    return f"{FORM_LABELS[form.form_type]} {form.stripe_account_id}"
