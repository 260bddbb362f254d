"""Every threshold the risk queue uses, as data in one table: its value, the date it applies from, its source.

Two kinds of rows:

* **Lines others draw** (card networks, Stripe), verified against the sources named in each row. They are
  reference lines for *dispute activity* (disputes by dispute date over settled charges in the same
  calendar month, Stripe's definition; https://docs.stripe.com/disputes/measuring). The networks count
  their own brand's transactions and Visa adds fraud reports (TC40), which the mirror does not hold, so the
  ratio compared here is an approximation of theirs; each row says what the network itself counts.
* **Our policy** (`source_url` None): the windows and lines of the other signals. No network publishes a
  refund-rate or volume-spike line; these are Connect Ops' choices, tuned here and nowhere else.

A threshold that changes over time is several rows with the same `key` and different `applies_from`;
`rule(key, on)` picks the one in force on a day. Nothing here reads the database.
"""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from core import clock

STRIPE_MEASURING = "https://docs.stripe.com/disputes/measuring"
STRIPE_CONNECT_RISK = "https://docs.stripe.com/connect/risk-management/best-practices"
STRIPE_MONITORING = "https://docs.stripe.com/disputes/monitoring-programs"
CHECKOUT_VAMP = ("https://support.checkout.com/hc/en-us/articles/23330844282514-What-are-the-thresholds-for-"
                 "disputes-and-fraud-under-Visa-s-Acquirer-Monitoring-Program-VAMP")
CHECKOUT_VAMP_UPDATE = ("https://support.checkout.com/hc/en-us/articles/26990138066450-Update-to-the-Visa-Acquirer-"
                        "Monitoring-Program-VAMP")
BRAINTREE_ECP = ("https://developer.paypal.com/braintree/articles/risk-and-security/card-brand-monitoring-programs/"
                 "mastercard-programs/excessive-chargeback-program")
SOLIDGATE_ECP = "https://support.solidgate.com/support/solutions/articles/80000966987-mastercard-monitoring-programs"
POLICY = "Connect Ops risk policy (issue 11); change it here"


class Rule(BaseModel):
    """One threshold. `value` is a ratio (0.015 = 1.5%), a number of days, a factor or a count, per `unit`."""

    model_config = ConfigDict(frozen=True)

    key: str
    label: str                      # how a reason names it: "Visa's 1.5% line"
    value: float
    unit: str                       # 'ratio' | 'days' | 'months' | 'factor' | 'count' | 'minor units'
    applies_from: date | None       # None: no effective date is published (in force as of the source read)
    min_count: int | None = None    # the program counts only above this many events a month...
    max_count: int | None = None    # ...and up to this many (Mastercard's ECM tier)
    currency: str | None = None     # for amounts: the currency they are in (never converted)
    strict: bool = False            # crossed only strictly above `value` ("above 0.75%"), else at or above
    source: str                     # who says so
    source_url: str | None = None   # where it was verified; None for our own policy
    note: str = ""                  # what the source counts, exactly, where it differs from our ratio

    @property
    def is_policy(self) -> bool:
        return self.source_url is None


RULES: tuple[Rule, ...] = (
    # --- lines drawn by others: compared with dispute activity --------------------------------------
    Rule(key="visa_vamp", label="Visa's 2.2% VAMP line", value=0.022, unit="ratio", applies_from=date(2025, 6, 1),
         min_count=1501, source="Visa Acquirer Monitoring Program, merchant 'excessive' (via Checkout.com)",
         source_url=CHECKOUT_VAMP,
         note="(fraud reports + disputes) / settled card-not-present Visa transactions in the month; a merchant is "
              "in the program only above 1,500 fraud reports plus disputes a month (outside MENA)."),
    Rule(key="visa_vamp", label="Visa's 1.5% VAMP line", value=0.015, unit="ratio", applies_from=date(2026, 4, 1),
         min_count=1501, source="Visa Acquirer Monitoring Program, merchant 'excessive' (via Checkout.com)",
         source_url=CHECKOUT_VAMP_UPDATE,
         note="Lowered from 2.2% on 1 April 2026 everywhere but MENA/CEMEA (which stays at 2.2%); same count floor."),
    Rule(key="mastercard_ecm", label="Mastercard's 1.5% ECM line", value=0.015, unit="ratio",
         applies_from=date(2019, 10, 1), min_count=100, max_count=299,
         source="Mastercard Excessive Chargeback Program, Excessive Chargeback Merchant (via Braintree, Solidgate)",
         source_url=BRAINTREE_ECP,
         note="Mastercard chargebacks in a month / Mastercard sales of the previous month; both 100-299 "
              "chargebacks and 1.50-2.99% must be met (since October 2019). Also: " + SOLIDGATE_ECP),
    Rule(key="mastercard_hecm", label="Mastercard's 3% HECM line", value=0.03, unit="ratio",
         applies_from=date(2019, 10, 1), min_count=300,
         source="Mastercard Excessive Chargeback Program, High Excessive Chargeback Merchant (via Braintree)",
         source_url=BRAINTREE_ECP,
         note="Same ratio as ECM; 300 or more chargebacks and 3% or more."),
    Rule(key="stripe_excessive", label="Stripe's 0.75% guidance", value=0.0075, unit="ratio", applies_from=None,
         strict=True,
         source="Stripe: 'the credit card processing industry standard recognizes dispute activity above 0.75% "
                "as excessive'", source_url=STRIPE_MEASURING,
         note="Stripe adds that a spike or steep upward trend can lead to a monitoring program below 0.75%. "
              "Connect guidance repeats it: " + STRIPE_CONNECT_RISK),
    # --- our policy: windows and lines of the other signals -------------------------------------------
    Rule(key="deadline_days", label="deadline within 14 days", value=14, unit="days", applies_from=None,
         source=POLICY, note="currently_due items whose current_deadline falls within this many days."),
    Rule(key="dispute_months", label="the last 3 calendar months", value=3, unit="months", applies_from=None,
         source=POLICY, note="Dispute activity is taken for each of these months (the current one included); "
                             "the worst month counts. Networks review each month; Stripe says fines follow "
                             "'a prolonged period (usually multiple months)'."),
    Rule(key="rate_window_days", label="the last 365 days", value=365, unit="days", applies_from=None,
         source=POLICY, note="Window of the dispute rate, refund rate and risky-charge share, by charge date. "
                             "Disputes arrive up to 120 days after the charge, so the newest part is incomplete."),
    Rule(key="dispute_rate", label="0.75% dispute rate", value=0.0075, unit="ratio", applies_from=None,
         source=POLICY, note="The dispute rate (by charge date) against Stripe's dispute-activity guidance."),
    Rule(key="confidence_z", label="90% confidence", value=1.2816, unit="factor", applies_from=None, source=POLICY,
         note="z of the one-sided lower bound (Wilson score interval) a ratio is scored on: how sure we are that "
              "the true rate is past a line. 1 dispute of 1 sale is at least 38%; 500 of 5,000 at least 9.4%. "
              "https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval#Wilson_score_interval"),
    Rule(key="min_disputes", label="at least 3 disputes", value=3, unit="count", applies_from=None, source=POLICY,
         note="Dispute activity and the dispute rate fire only from this many disputes (inquiries not counted); "
              "the reason says how many there are."),
    Rule(key="min_events", label="at least 3 events", value=3, unit="count", applies_from=None, source=POLICY,
         note="The refund rate and the risky-charge share fire only from this many refunds or risky charges."),
    Rule(key="queue_score", label="a score of 15", value=15, unit="count", applies_from=None, source=POLICY,
         note="An account is a case in the queue from this score, or with one severe signal; below, it is "
              "listed under 'watch', out of the queue."),
    Rule(key="severe_points", label="one signal of 20 points", value=20, unit="count", applies_from=None,
         source=POLICY, note="A single signal this strong makes a case whatever the score."),
    Rule(key="case_due_days", label="3 days", value=3, unit="days", applies_from=None, source=POLICY,
         note="A case is due this many days after it entered the queue."),
    Rule(key="case_due_days_severe", label="1 day", value=1, unit="days", applies_from=None, source=POLICY,
         note="A case scoring severe_score or more is due this many days after it entered the queue."),
    Rule(key="severe_score", label="a score of 50", value=50, unit="count", applies_from=None, source=POLICY,
         note="From this score a case is due sooner."),
    Rule(key="follow_up_days", label="a follow-up in 14 days", value=14, unit="days", applies_from=None,
         source=POLICY, note="A paused or rejected account comes back into review after this many days."),
    Rule(key="refund_rate", label="our 10% refund line", value=0.10, unit="ratio", applies_from=None,
         source=POLICY, note="Share of settled charges in the window that were refunded, fully or partly."),
    Rule(key="risky_share", label="our 10% risky-charge line", value=0.10, unit="ratio", applies_from=None,
         source=POLICY, note="Share of charge attempts Radar rated elevated or highest, or blocked."),
    Rule(key="recent_days", label="the last 30 days", value=30, unit="days", applies_from=None, source=POLICY,
         note="Recent volume, compared with the account's own baseline."),
    Rule(key="baseline_days", label="the 90 days before", value=90, unit="days", applies_from=None, source=POLICY,
         note="The baseline: volume of the 90 days before the recent window, per 30 days, per currency."),
    Rule(key="spike_factor", label="3 times its baseline", value=3.0, unit="factor", applies_from=None,
         source=POLICY, note="Recent volume at least this many times the baseline, in some currency."),
    Rule(key="spike_min_charges", label="at least 5 recent charges", value=5, unit="count", applies_from=None,
         source=POLICY, note="A spike needs this many recent charges (one large order is not a spike)."),
    Rule(key="drop_share", label="under 25% of its baseline", value=0.25, unit="ratio", applies_from=None,
         source=POLICY, note="Recent volume below this share of the baseline. Stripe lists 'sharply reduced "
                             "volume' among riskier accounts: " + STRIPE_CONNECT_RISK),
    Rule(key="drop_min_charges", label="at least 10 baseline charges a month", value=10, unit="count",
         applies_from=None, source=POLICY, note="A drop needs a baseline of this many charges per 30 days."),
    Rule(key="young_days", label="younger than 30 days", value=30, unit="days", applies_from=None, source=POLICY,
         note="Stripe suggests delaying payouts of newer sellers: " + STRIPE_CONNECT_RISK),
    Rule(key="young_charges", label="25 charges", value=25, unit="count", applies_from=None, source=POLICY,
         note="A young account with this many settled charges has high volume, whatever the currency."),
    *(Rule(key="young_volume", label=f"{label} in its first days", value=amount, unit="minor units",
           applies_from=None, currency=currency, source=POLICY,
           note="A young account with this much settled volume in one currency has high volume.")
      for currency, amount, label in (("usd", 1_000_000, "USD 10,000"), ("eur", 1_000_000, "EUR 10,000"),
                                      ("gbp", 800_000, "GBP 8,000"), ("cad", 1_300_000, "CAD 13,000"),
                                      ("jpy", 1_500_000, "JPY 1,500,000"))),
    Rule(key="failed_payout_days", label="the last 90 days", value=90, unit="days", applies_from=None,
         source=POLICY, note="Failed payouts created in this window."),
)

DISPUTE_LINES = ("stripe_excessive", "visa_vamp", "mastercard_ecm", "mastercard_hecm")


def crossed(line: Rule, measured: float) -> bool:
    """Whether a measured ratio is past a line (at it counts, unless the source says 'above')."""
    return measured > line.value if line.strict else measured >= line.value


def rule(key: str, on: date | None = None, currency: str | None = None) -> Rule | None:
    """The row of `key` in force on `on` (today's rows when None): the latest `applies_from` not after it."""
    rows = [r for r in RULES if r.key == key and r.currency == currency
            and (r.applies_from is None or on is None or r.applies_from <= on)]
    if on is None:
        rows = [r for r in rows if r.applies_from is None or r.applies_from <= clock.today()]  # UTC, never the local zone
    return max(rows, key=lambda r: r.applies_from or date.min, default=None)


def value(on: date | None, key: str) -> float:
    """A policy value that must exist (windows, factors): its number on a day (None: today)."""
    found = rule(key, on)
    if found is None:
        raise KeyError(f"no risk rule {key!r} in force on {on}")
    return found.value


def dispute_lines(on: date) -> list[Rule]:
    """The reference lines for dispute activity in force on a day, lowest first."""
    found = [rule(key, on) for key in DISPUTE_LINES]
    return sorted((r for r in found if r is not None), key=lambda r: r.value)


def table() -> list[dict[str, object]]:
    """The table as rows for a page or an export (every row, past ones included)."""
    return [{"key": r.key, "label": r.label, "value": r.value, "unit": r.unit, "currency": r.currency,
             "applies_from": r.applies_from, "min_count": r.min_count, "max_count": r.max_count,
             "source": r.source, "source_url": r.source_url, "note": r.note} for r in RULES]
