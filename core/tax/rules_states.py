"""The state tables of the 1099-K, 1099-NEC and 1099-MISC: every state and DC, each row with its source.

Transcribed from Stripe's state requirement tables (2024 tax season, the newest with the values printed):
'1099-K form state requirements' (docs.stripe.com/connect/1099-K), '1099-NEC form state requirements'
(docs.stripe.com/connect/1099-NEC), '1099-MISC form state requirements' (docs.stripe.com/connect/1099-MISC).
Each row: how the form reaches the state (CFSF: the IRS forwards it, the Combined Federal/State Filing
program; State Portal: filed with the state directly; If State Withholding: only when state tax was withheld;
No), the due date ("Same as IRS", a date, or days from the IRS date), the threshold ("Same as IRS" or the
state's own), and the state number the state wants if it issued one. Where a state's own law or revenue
department says something else, the row follows the state and says why (NC, MD, VT, VA).
"""
from __future__ import annotations

from core.tax.rules import (
    Channel, Due, FormType, Reading, StateKind, StateRule, Threshold, _usd,
)

K_URL = "https://docs.stripe.com/connect/1099-K"
NEC_URL = "https://docs.stripe.com/connect/1099-NEC"
MISC_URL = "https://docs.stripe.com/connect/1099-MISC"
URLS: dict[str, str] = {"k": K_URL, "nec": NEC_URL, "misc": MISC_URL}
STRIPE_TABLE = {"k": "Stripe Docs, '1099-K form state requirements'",
                "nec": "Stripe Docs, '1099-NEC form state requirements'",
                "misc": "Stripe Docs, '1099-MISC form state requirements'"}

CHANNELS: dict[str, Channel] = {"CFSF": "CFSF", "SP": "State Portal", "W": "If State Withholding", "No": "No"}
IDS = {"CT": "Connecticut Tax Registration Number", "KS": "Kansas Withholding Tax Account Number",
       "MD": "Maryland Central Registration Number", "NC": "NC Withholding ID Number or EIN",
       "SC": "SC Withholding File Number or EIN", "VT": "Vermont Withholding Account Number",
       "WI": "Wisconsin Withholding Tax Number", "ID": "Idaho Withholding Account Number",
       "NE": "Nebraska Number", "PA": "PA Employer Account ID", "OK": "Oklahoma Withholding Account ID",
       "DE": "Must use EIN"}

# state: channel, due ('IRS', 'MM-DD', '+30' / '-30' days from the IRS e-file date), threshold ('IRS' or
# dollars; withholding states: '0' or their amount), state number (a key of IDS, or '').
K_TABLE = """
AL SP 04-30 IRS -|AK No - - -|AZ W IRS 0 -|AR CFSF IRS 2500 -|CA CFSF IRS IRS -|CO W IRS 0 -|CT SP 04-30 IRS CT|
DE No - - -|DC SP IRS 600 -|FL SP 04-30 IRS -|GA SP IRS IRS -|HI CFSF IRS IRS -|ID No - - -|IL SP IRS 1000/3 -|
IN W IRS 0 -|IA W 02-15 0 -|KS CFSF IRS IRS KS|KY W IRS 0 -|LA W IRS 0 -|ME SP IRS IRS -|MD SP -30 600 MD|
MA SP IRS 600 -|MI No - - -|MN W IRS 0 -|MS CFSF IRS IRS -|MO No - - -|MT SP 04-01 600 -|NE No - - -|NV No - - -|
NH No - - -|NJ CFSF IRS 1000 -|NM No - - -|NY SP 04-30 IRS -|NC SP 03-31 IRS NC|ND W IRS 0 -|OH No - - -|
OK No - - -|OR SP IRS IRS -|PA No - - -|RI W IRS 100 -|SC W IRS 0 SC|SD No - - -|TN SP 04-30 IRS -|TX No - - -|
UT W IRS 0 -|VT SP +30 600 VT|VA SP 04-30 600 -|WA No - - -|WV W IRS 0 -|WI W IRS 0 WI|WY No - - -"""

NEC_TABLE = """
AL W IRS 0 -|AK No - - -|AZ W IRS 0 -|AR CFSF IRS IRS -|CA CFSF IRS IRS -|CO W 03-31 0 -|CT W IRS 0 CT|
DE SP IRS IRS DE|DC SP IRS IRS -|FL No - - -|GA W IRS IRS -|HI CFSF IRS IRS -|ID CFSF 02-28 IRS ID|IL No - - -|
IN W IRS 0 -|IA W 02-15 0 -|KS W IRS 0 KS|KY W IRS 0 -|LA W IRS 0 -|ME SP IRS IRS -|MD W IRS 0 MD|
MA SP IRS IRS -|MI W IRS 0 -|MN W IRS 0 -|MS W 02-28 0 -|MO CFSF IRS IRS -|MT SP IRS IRS -|NE W IRS 0 NE|
NV No - - -|NH No - - -|NJ CFSF IRS IRS -|NM No - - -|NY No - - -|NC W IRS 0 NC|ND W IRS 0 -|OH W IRS 0 -|
OK CFSF IRS IRS -|OR SP IRS IRS -|PA SP IRS IRS PA|RI W IRS 100 -|SC W IRS 0 SC|SD No - - -|TN No - - -|
TX No - - -|UT W IRS 0 -|VT W IRS 0 VT|VA W IRS 0 -|WA No - - -|WV W IRS 0 -|WI W IRS 0 WI|WY No - - -"""

MISC_TABLE = """
AL W IRS 0 -|AK No - - -|AZ W IRS 0 -|AR CFSF IRS 2500 -|CA CFSF IRS IRS -|CO W IRS 0 -|CT W IRS 0 CT|
DE SP IRS IRS DE|DC SP IRS IRS -|FL No - - -|GA W IRS IRS -|HI CFSF IRS IRS -|ID CFSF 02-28 IRS ID|IL No - - -|
IN W IRS 0 -|IA W 02-15 0 -|KS W IRS 0 KS|KY W IRS 0 -|LA W IRS 0 -|ME SP IRS IRS -|MD W IRS 0 MD|
MA SP IRS IRS -|MI CFSF IRS IRS -|MN W IRS 0 -|MS W 02-28 0 -|MO CFSF IRS IRS -|MT SP 02-28 IRS -|
NE W IRS 0 NE|NV No - - -|NH No - - -|NJ CFSF IRS IRS -|NM CFSF IRS IRS -|NY No - - -|NC W IRS 0 NC|
ND W IRS 0 -|OH W IRS 0 -|OK CFSF IRS IRS OK|OR SP IRS IRS -|PA SP IRS IRS PA|RI W IRS 100 -|SC W IRS 0 SC|
SD No - - -|TN No - - -|TX No - - -|UT W IRS 0 -|VT W IRS 0 VT|VA W IRS 0 -|WA No - - -|WV W IRS 0 -|
WI W IRS 0 WI|WY No - - -"""

TABLES = {"k": K_TABLE, "nec": NEC_TABLE, "misc": MISC_TABLE}

# Rows where the state's own words decide (the Stripe row is cited too). source, url, note.
NCDOR = "https://www.ncdor.gov/file-pay/guidance-information-reporting"
OWN_SOURCES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("k", "NC"): ("NCDOR 'Guidance on Information Reporting': G.S. 105-251.2(c) (S.L. 2017-204) requires payment "
                  "settlement entities to submit duplicate copies of all information filed with the IRS under "
                  "26 U.S.C. 6050W, electronically, on or before March 31. So NC follows the federal threshold",
                  NCDOR, "Stripe's 2024-season table printed $600 for NC; NC law asks for copies of the federal "
                         "filings, so the IRS threshold applies."),
    ("k", "MD"): ("Md. Code, Tax-General 10-825(b)-(c): TPSOs report Maryland payees whose payments meet or exceed "
                  "the filing threshold of 26 U.S.C. 6041(a), at least 30 days before the federal filing deadline; "
                  + STRIPE_TABLE["k"] + ": $600, Maryland Central Registration Number", K_URL, ""),
    ("k", "VT"): ("32 V.S.A. 5862d(b): TPSOs report Vermont payees as if 6050W(e) did not apply but the de minimis "
                  "of 26 U.S.C. 6041(a) did; Vermont Dept. of Taxes: 'payments that equal or exceed $600', due 30 "
                  "days after the federal date; " + STRIPE_TABLE["k"] + ": $600, April 30", K_URL, ""),
    ("k", "VA"): ("Virginia Tax Bulletin 20-10 (HB 730 and SB 211 of 2020): TPSOs report Virginia payees 'using the "
                  "de minimis thresholds imposed for purposes of federal Form 1099-MISC', i.e. 26 U.S.C. 6041(a); "
                  + STRIPE_TABLE["k"] + ": $600, April 30", K_URL, ""),
    ("k", "IL"): ("35 ILCS 5/703A: 'the amount of those transactions exceeds $1,000 and the aggregate number of those "
                  "transactions exceeds 3'; " + STRIPE_TABLE["k"] + ": $1,000 and 4 transactions", K_URL, ""),
    ("k", "MA"): ("830 CMR 62C.8.1 and mass.gov 'Form 1099-K reporting requirements': '$600 or greater ... "
                  "regardless of the number of transactions'; " + STRIPE_TABLE["k"] + ": $600", K_URL, ""),
    ("k", "RI"): ("R.I. Gen. Laws 44-30-58(c): $100 or more; RI Division of Taxation: '1099 forms are not required "
                  "unless there is Rhode Island withholding tax'; " + STRIPE_TABLE["k"] + ": 'If State Withholding', "
                  "$100", K_URL, ""),
}

# 2026: MD, VT and VA point at the amount in 26 U.S.C. 6041(a), which became $2,000 for payments after 2025
# (P.L. 119-21 sec. 70433). Vermont's and Virginia's departments still say $600 and neither a state nor Stripe
# confirms $2,000: file at $600 and show the $2,000 reading (never drop a form on an unconfirmed reading).
REVIEW_2026 = Reading(
    threshold=Threshold(amount=_usd(2_000), amount_op=">="),
    source="P.L. 119-21 sec. 70433 raised the 26 U.S.C. 6041(a) amount these laws point at to $2,000 for payments "
           "after 31 Dec 2025; not confirmed by the state or by Stripe",
    url="https://www.law.cornell.edu/uscode/text/26/6041")
UNDER_REVIEW_2026 = ("MD", "VT", "VA")


def _due(text: str) -> Due:
    if text in ("IRS", "-"):
        return Due()
    if text[0] in "+-":
        return Due(days_from_irs=int(text))
    month, day = text.split("-")
    return Due(month_day=(int(month), int(day)))


def _threshold(text: str, kind: StateKind) -> Threshold | None:
    if text in ("IRS", "-") or (kind == "withholding" and text == "0"):
        return None
    if "/" in text:  # IL: more than $1,000 and more than 3 transactions
        dollars, count = text.split("/")
        return Threshold(amount=_usd(int(dollars)), amount_op=">", count=int(count), count_op=">")
    return Threshold(amount=_usd(int(text)), amount_op=">=")


def _kind(channel: str, threshold: str) -> StateKind:
    if channel == "No":
        return "none"
    if channel == "W":
        return "withholding"
    return "federal" if threshold == "IRS" else "threshold"


def parse_table(form: FormType, text: str) -> dict[str, StateRule]:
    """One form's table: every state and DC by two-letter code."""
    rules: dict[str, StateRule] = {}
    for cell in text.replace("\n", "").split("|"):
        state, channel, due, threshold, state_id = cell.split()
        kind = _kind(channel, threshold)
        source, url, note = OWN_SOURCES.get(
            (form, state), (f"{STRIPE_TABLE[form]}: {state} '{CHANNELS[channel]}', due {due}, threshold "
                            f"{threshold}" + (f", state number: {IDS[state_id]}" if state_id != "-" else ""),
                            URLS[form], ""))
        rules[state] = StateRule(state=state, form=form, kind=kind, channel=CHANNELS[channel],
                                 threshold=_threshold(threshold, kind), due=_due(due),
                                 state_id=IDS.get(state_id), source=source, url=url, note=note)
    return rules


BASE: dict[str, dict[str, StateRule]] = {form: parse_table(form, text) for form, text in TABLES.items()}  # type: ignore[arg-type]


def state_tables(year: int) -> dict[str, dict[str, StateRule]]:
    """The year's state tables (the same every year but for 2026's rows under review)."""
    tables = {form: dict(rows) for form, rows in BASE.items()}
    if year >= 2026:
        for state in UNDER_REVIEW_2026:
            row = tables["k"][state]
            tables["k"][state] = row.model_copy(update={
                "other_reading": REVIEW_2026,
                "note": "Rule under review: the law points at 26 U.S.C. 6041(a), now $2,000; the state and Stripe "
                        "still say $600. Filed at $600."})
    return tables
