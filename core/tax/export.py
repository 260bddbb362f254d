"""Files finance downloads: Stripe's 1099 import CSV, the table on the page, and an account's transaction log.

The import file uses the column names of Stripe's 1099 CSV schema (Stripe Docs, 'Update and create 1099
tax forms', docs.stripe.com/connect/modify-tax-forms, "1099 CSV schema"), amounts in dollars with
cents ("1234.50"). Values are written as the text they are, so a postal code keeps its leading zero
("02139"); Stripe warns that spreadsheets drop leading zeros and such a file no longer imports. Text a
merchant wrote that a spreadsheet would run as a formula gets core.export's apostrophe.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from core.export import csv_text
from core.money import format_amount, minor_per_unit
from core.tax.computation import LogRow
from core.tax.readiness import TIN_WORDS, TaxForm
from core.tax.rules import FORM_LABELS, FormType

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
PAYEE_COLUMNS = ("stripe_account_id", "form_type", "filing_requirement", "payee_name_line_1", "payee_address_line_1",
                 "payee_address_line_2", "payee_city", "payee_region", "payee_postal_code", "payee_country")
MONTH_COLUMNS = tuple(f"{m}_amount" for m in MONTHS)
NEC_COLUMN = "nonemployee_compensation"
MISC_COLUMN = "other_income"  # 1099-MISC box 3
# Box 4 (none withheld) and the state boxes: the platform's state number, what the state form reports, state tax
# withheld (Stripe Docs, '1099-K/NEC/MISC form state requirements': `state_tax_withheld`).
WITHHELD_COLUMN = "federal_income_tax_withheld"
STATE_COLUMNS = ("state_filer_id", "state_income", "state_tax_withheld")
IMPORT_COLUMNS = (*PAYEE_COLUMNS, *MONTH_COLUMNS, NEC_COLUMN, MISC_COLUMN, WITHHELD_COLUMN, *STATE_COLUMNS)


def dollars(cents: int | None) -> str:
    """USD cents as Stripe's import wants them: '1234.50', '-0.05', '0.00' (never a float on the way)."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{part:02d}"


def import_columns(form_type: FormType | None = None) -> tuple[str, ...]:
    """One form type's file (Stripe imports each type on its own), or every column for a mixed file."""
    tail = (WITHHELD_COLUMN, *STATE_COLUMNS)
    if form_type == "k":
        return (*PAYEE_COLUMNS, *MONTH_COLUMNS, *tail)
    if form_type == "nec":
        return (*PAYEE_COLUMNS, NEC_COLUMN, *tail)
    if form_type == "misc":
        return (*PAYEE_COLUMNS, MISC_COLUMN, *tail)
    return IMPORT_COLUMNS


def import_row(form: TaxForm) -> dict[str, Any]:
    """A form as one row of Stripe's import: a 1099-K has its monthly boxes, a 1099-NEC its box 1, a 1099-MISC
    its box 3; every form its box 4 and state boxes."""
    payee = form.payee
    row: dict[str, Any] = {
        "stripe_account_id": form.stripe_account_id, "form_type": form.form_type,
        "filing_requirement": form.filing_requirement, "payee_name_line_1": payee.name or "",
        "payee_address_line_1": payee.address_line1 or "", "payee_address_line_2": payee.address_line2 or "",
        "payee_city": payee.city or "", "payee_region": payee.state or "",
        "payee_postal_code": payee.postal_code or "", "payee_country": payee.country,
    }
    k = form.form_type == "k"
    row.update({column: dollars(amount) if k else "" for column, amount in zip(MONTH_COLUMNS, form.monthly_amounts)})
    row[NEC_COLUMN] = dollars(form.gross_amount) if form.form_type == "nec" else ""
    row[MISC_COLUMN] = dollars(form.gross_amount) if form.form_type == "misc" else ""
    row[WITHHELD_COLUMN] = dollars(form.federal_income_tax_withheld)
    row.update({"state_filer_id": form.state_filer_id or "",
                "state_income": dollars(form.state_income) if form.state_filing_required else "",
                "state_tax_withheld": dollars(form.state_tax_withheld) if form.state_filing_required else ""})
    return row


def import_csv(forms: Iterable[TaxForm], form_type: FormType | None = None) -> str:
    """Stripe's 1099 import file for these forms (only `form_type`'s, when given)."""
    columns = import_columns(form_type)
    rows = (import_row(f) for f in forms if form_type is None or f.form_type == form_type)
    return csv_text(columns, ([row[c] for c in columns] for row in rows))


TABLE_COLUMNS = ("stripe_account_id", "name", "form", "status", "needs_attention", "gross_usd", "card_not_present_usd",
                 "transactions", *(f"{m[:3]}_usd" for m in MONTHS), "federal_filing_required", "federal_rule",
                 "federal_other_reading_required", "state", "state_filing_required", "state_rule", "state_channel",
                 "state_under_review", "state_filer_id", "federal_income_tax_withheld_usd", "tin", "filing_requirement",
                 "form_type_overridden", "method", "not_converted", "filed", "correction_needed")


def table_row(form: TaxForm) -> dict[str, Any]:
    """The page's row for a form (amounts in dollars; merchant text as data, never markup)."""
    row: dict[str, Any] = {
        "stripe_account_id": form.stripe_account_id, "name": form.display_name or form.payee.name,
        "form": FORM_LABELS[form.form_type], "status": form.status, "needs_attention": ", ".join(form.needs_attention),
        "gross_usd": dollars(form.gross_amount), "card_not_present_usd": dollars(form.card_not_present_amount),
        "transactions": form.transaction_count,
    }
    row.update({f"{m[:3]}_usd": dollars(a) for m, a in zip(MONTHS, form.monthly_amounts)})
    row.update({"federal_filing_required": form.federal_filing_required, "federal_rule": form.federal_rule,
                "federal_other_reading_required": form.federal_other_reading_required,
                "state": form.state, "state_filing_required": form.state_filing_required,
                "state_rule": form.state_rule, "state_channel": form.state_channel,
                "state_under_review": form.state_under_review, "state_filer_id": form.state_filer_id,
                "federal_income_tax_withheld_usd": dollars(form.federal_income_tax_withheld),
                "tin": TIN_WORDS[form.payee.tin],
                "filing_requirement": form.filing_requirement, "form_type_overridden": form.form_type_overridden,
                "method": form.method,
                "not_converted": ", ".join(f"{c.upper()} {format_amount(a, c)}" for c, a in sorted(form.unconverted.items())),
                "filed": form.filed_amounts is not None, "correction_needed": form.correction_needed})
    return row


def table_csv(forms: Sequence[TaxForm]) -> str:
    return csv_text(TABLE_COLUMNS, ([table_row(f)[c] for c in TABLE_COLUMNS] for f in forms))


LOG_COLUMNS = ("merchant_id", "balance_transaction_id", "charge_id", "transfer_id", "payout_id", "kind", "available_on",
               "month", "original_amount", "original_currency", "exchange_rate", "rate_to_usd", "settled_currency",
               "calculation_amount_usd", "card_not_present_volume_usd", "transaction_count", "payment_method_type")


def log_row(row: LogRow) -> dict[str, Any]:
    """A transaction as Stripe's transaction log shows it, with the conversion spelled out."""
    original = None
    if row.original_amount is not None and row.original_currency:
        unit = minor_per_unit(row.original_currency)
        original = row.original_amount if unit == 1 else dollars(row.original_amount)
    amount = row.calculation_amount
    return {
        "merchant_id": row.account_id, "balance_transaction_id": row.balance_transaction_id,
        "charge_id": row.charge_id, "transfer_id": row.transfer_id, "payout_id": row.payout_id, "kind": row.kind,
        "available_on": row.available_on.strftime("%Y-%m-%d %H:%M:%S UTC"), "month": row.month,
        "original_amount": original, "original_currency": (row.original_currency or "").upper(),
        "exchange_rate": row.exchange_rate, "rate_to_usd": str(row.rate_to_usd) if row.rate_to_usd is not None else "",
        "settled_currency": (row.settled_currency or "").upper(),
        "calculation_amount_usd": dollars(amount) if amount is not None else "not converted",
        "card_not_present_volume_usd": dollars(amount if row.card_not_present else 0) if amount is not None else "",
        "transaction_count": row.transaction_count, "payment_method_type": row.payment_method_type,
    }


def log_csv(rows: Sequence[LogRow]) -> str:
    return csv_text(LOG_COLUMNS, ([log_row(r)[c] for c in LOG_COLUMNS] for r in rows))
