"""The money definitions finance, the Overview, the Revenue page and `connect-ops revenue` share.

Each figure is defined once here: the SQL that picks its rows (`GMV_CHARGES`...), the formula that
combines measured sums (`Measures`), and the short text people see on hover (`DEFINITIONS`). Queries
(core/revenue/queries.py, core/overview/metrics.py, core/support/accounts.py) import them rather than
restating them, so a page can never disagree with the CLI about what GMV or revenue means.

Every amount is an integer in minor units of its own currency (JPY has no minor unit); currencies are
never added together unless converted explicitly (the platform-currency view of the Revenue page).

Attribution in time ("cohort"): a charge counts on the day of its `created`, an application fee on the
day of its `created`, and everything that later happens to them (refunds, disputes, transfers made from
the charge, fee refunds) counts with them, as of the mirror's last sync. So a period's figures are about
the charges of that period, and its totals are the exact sum of any breakdown of it.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, computed_field

from core.money import ZERO_DECIMAL

# --------------------------------------------------------------------------- which rows count

# GMV (also called GPV): succeeded charges in all three Connect flows, counted once. A connected account's
# `py_` payments (the money a transfer lands with) have a `source_transfer` and are the same sale again.
GMV_CHARGES = "status = 'succeeded' AND source_transfer_id IS NULL"
# The merchant a charge is for when the charge row alone says it: direct charges live in its scope,
# destination charges name it in transfer_data. Separate charges need their transfers (queries.py).
GMV_MERCHANT = "coalesce(account, transfer_destination_id)"
# Connect's three charge types, read from a charge row (applies to GMV charges only).
CHARGE_TYPE_SQL = ("CASE WHEN account IS NOT NULL THEN 'direct' "
                   "WHEN transfer_destination_id IS NOT NULL THEN 'destination' ELSE 'separate' END")
CHARGE_TYPES = ("direct", "destination", "separate", "platform")  # the last: PLATFORM_OWN
ACCOUNT_DEBIT = "account debit"  # not a charge type: money a connected account sent the platform
# The platform's own sales (a SaaS fee, say): a platform charge with no transfer, destination, on_behalf_of or
# transfer_group. Not Connect volume: Stripe's platform earnings report leaves out "platform-level charges not
# associated with a connected account" (https://docs.stripe.com/connect/platform-earnings-report). Shown apart.
PLATFORM_OWN = "platform"
# What a charge captured (https://docs.stripe.com/api/charges/object#charge_object-amount_captured): an
# authorization not captured yet moves no money; a partial capture releases the rest, which Stripe then shows
# in amount_refunded. So GMV counts amount_captured, and refunds exclude the released remainder.
CAPTURED_SQL = "CASE WHEN captured IS false THEN 0 ELSE coalesce(amount_captured, amount) END"
GMV_AMOUNT_SQL = CAPTURED_SQL  # what a GMV charge adds to GMV (the Overview's tile too)
REFUNDED_SQL = ("CASE WHEN captured IS false THEN 0 ELSE greatest(0, coalesce(amount_refunded, 0) "
                "- (amount - coalesce(amount_captured, amount))) END")
# A charge's flow once its transfers are known (columns of cache.rows_sql's `priced`): a platform charge that
# no transfer names by source_transaction, with no transfer_group, destination or on_behalf_of, is the
# platform's own; one with a group or on_behalf_of but no transfer yet is a separate charge awaiting transfer.
# Transfers link to charges by source_transaction, else by transfer_group: Stripe's separate charges and
# transfers make source_transaction optional (https://docs.stripe.com/connect/separate-charges-and-transfers).
FLOW_SQL = (f"CASE WHEN c.row_type <> 'separate' THEN c.row_type WHEN m.id IS NOT NULL OR c.transfer_group IS NOT NULL "
            f"OR c.on_behalf_of_id IS NOT NULL THEN 'separate' ELSE '{PLATFORM_OWN}' END")
# Net application fees by the fee's currency: what the Overview's fee tile shows.
NET_APPLICATION_FEES_SQL = "amount - coalesce(amount_refunded, 0)"
# Platform balance transactions by which Stripe took a connected account's negative balance from the platform.
NEGATIVE_BALANCE_COVER_TYPES = ("connect_collection_transfer",)
# The platform's own ledger entries for application fees (what revenue reconciles with).
FEE_LEDGER_TYPES = ("application_fee", "application_fee_refund")


def minor_units_sql(column: str) -> str:
    """SQL for the minor units per major unit of the currency in `column` (1 for JPY, else 100)."""
    codes = ", ".join(f"'{c}'" for c in sorted(ZERO_DECIMAL))
    return f"(CASE WHEN {column} IN ({codes}) THEN 1.0 ELSE 100.0 END)"


# --------------------------------------------------------------------------- the words people see


class Definition(BaseModel):
    key: str
    label: str
    help: str  # one or two sentences, shown on hover (tile help, column help, CLI --help)


def _d(key: str, label: str, help: str) -> tuple[str, Definition]:
    return key, Definition(key=key, label=label, help=help)


DEFINITIONS: dict[str, Definition] = dict((
    _d("gmv", "GMV (GPV)",
       "Captured amounts of succeeded charges by presentment currency: direct, destination and separate charges "
       "(not the platform's own sales, not authorizations not yet captured). A connected account's py_ payments "
       "are not counted: they are the same money again. Refunds are not deducted."),
    _d("charges", "Charges", "Number of captured charges counted in GMV."),
    _d("net_gmv", "Net GMV", "GMV less the amount refunded on those charges and lost disputes on them."),
    _d("refunded", "Refunded volume", "Amount refunded on the charges counted in GMV, whenever the refund happened "
       "(not the part of an authorization released at a partial capture). Volume, whoever bore it."),
    _d("disputes_lost", "Lost disputes", "Disputed amount of the period's charges whose disputes were lost."),
    _d("dispute_fees", "Dispute fees",
       "Stripe's dispute fees the platform paid on the period's destination and separate charges, back in the "
       "charge's currency at the dispute's exchange rate. Counted once: in losses, not in Stripe's fees."),
    _d("application_fees", "Application fees collected",
       "Application fees created in the period, by the fee's currency."),
    _d("application_fees_refunded", "Application fees refunded",
       "The part of those application fees refunded to the connected account."),
    _d("implicit_fees", "Implicit fees",
       "What the platform keeps without a fee object: a destination charge with transfer_data[amount], or a "
       "separate charge, keeps what it captured less its transfers (linked by source_transaction, else by "
       "transfer_group, shared by amount over a group's charges), in the charge's currency."),
    _d("implicit_fees_refunded", "Implicit fees refunded",
       "Refunds less the transfer reversals that came back (Stripe: reversals add to the platform's balance), up "
       "to the implicit fee; negative when more came back than was refunded."),
    _d("account_debits", "Account debits", "Money connected accounts sent the platform (py_ payments in the "
       "platform's scope)."),
    _d("account_debits_reversed", "Reversed account debits", "The part of account debits given back."),
    _d("revenue", "Revenue",
       "Stripe's definition: application fees collected − application fees refunded + account debits − reversed "
       "account debits, plus implicit fees less their refunded share (what reversing the transfers gives back "
       "with a refund is netted there)."),
    _d("stripe_fees", "Stripe fees",
       "Stripe's processing fees the platform paid on these charges, in the charge's currency: on destination "
       "and separate charges, and on direct charges of accounts whose controller.fees.payer is application."),
    _d("margin", "Margin", "Revenue less Stripe's fees on the platform's balance transactions."),
    _d("take_rate_bps", "Take rate (margin)", "Margin / GMV x 10,000, in basis points: what the platform keeps "
       "after Stripe's fees, per 10,000 of GMV."),
    _d("revenue_rate_bps", "Revenue rate", "Revenue / GMV x 10,000, in basis points, before Stripe's fees."),
    _d("negative_balances_covered", "Negative balances covered",
       "Connected accounts' negative balances Stripe collected from the platform (connect_collection_transfer "
       "balance transactions), net of repayments, by the transaction's date."),
    _d("losses", "Losses", "What left the platform's balance for good: refunds not recovered by reversing the "
       "transfer (beyond the implicit fee), lost disputes and dispute fees on destination and separate charges, "
       "and connected accounts' negative balances covered. Direct charges' refunds and disputes are the account's."),
    _d("losses_refunds", "Refund losses", "Refunds on destination and separate charges the platform paid and did "
       "not get back by reversing the transfer, beyond its own implicit fee."),
    _d("losses_disputes", "Dispute losses", "Lost disputes on destination and separate charges (the platform's "
       "balance pays them)."),
    _d("awaiting_transfer", "Awaiting transfer", "Separate charges (with a transfer_group or on_behalf_of) no "
       "transfer has drawn on yet, less refunds: money held for connected accounts, not revenue."),
    _d("platform_own_sales", "Platform's own sales", "Captured platform charges with no transfer, destination, "
       "on_behalf_of or transfer_group (the platform's own sales): not Connect volume, not revenue."),
    _d("charges_allocated", "Charges with allocated transfers", "Charges whose transfers were shared out by "
       "amount, their group holding several charges and several transfers."),
    _d("unconverted_transfers", "Transfers not converted", "Transfers in a currency that is neither their "
       "charge's nor the one it settled in: left out of implicit fees, and counted here."),
    _d("reconciliation", "Reconciliation",
       "Application fees less fee refunds, against the platform's application_fee and application_fee_refund "
       "balance transactions of the same fees; implicit fees and account debits are added on both sides."),
    _d("platform_currency", "Platform currency view",
       "Every amount converted into the platform's settlement currency at the exchange_rate Stripe applied "
       "when the charge or fee settled in the platform's balance; what has no such rate is left out and shown."),
))

# --------------------------------------------------------------------------- the formulas
#
# Per charge of a destination or separate flow (cache.rows_sql computes it, in the charge's currency):
#   implicit fee          = captured - transfers                      (transfer_data[amount], separate charges)
#   implicit fee refunded = min(refunds - reversals, implicit fee)    (negative: more came back than was refunded)
#   refund loss           = max(0, refunds - reversals - implicit fee)
# so the platform's net on the charge, captured - refunds - transfers + reversals, is always
# implicit fee - implicit fee refunded - refund loss. Reversals add to the platform's balance ("Transfer
# reversals add to the platform's balance and subtract from the destination account's balance":
# https://docs.stripe.com/api/transfer_reversals); Stripe's "− reversed transfers" in its revenue formula is about
# transfers *from* accounts ("Understand your Connect business":
# https://docs.stripe.com/connect/dashboard/understand-your-connect-business). Destination charges: the
# platform's balance pays refunds and disputes and gets back what it reverses
# (https://docs.stripe.com/connect/destination-charges); direct charges: the account bears them
# (https://docs.stripe.com/connect/direct-charges), and with controller.fees.payer = application the platform
# pays the payment fees (https://docs.stripe.com/connect/direct-charges-fee-payer-behavior). Revenue includes
# "net earnings from transfers to connected accounts" (https://docs.stripe.com/connect/platform-earnings-report).

MEASURES = ("gmv", "charges", "refunded", "disputes_lost", "dispute_fees", "application_fees",
            "application_fees_refunded", "implicit_fees", "implicit_fees_refunded", "account_debits",
            "account_debits_reversed", "stripe_fees", "negative_balances_covered", "losses_refunds",
            "losses_disputes", "awaiting_transfer", "platform_own_sales", "charges_allocated",
            "unconverted_transfers")
# Losses by kind, as `connect-ops revenue` names them: what left the platform's balance for good.
LOSS_KINDS = {"refunds": "losses_refunds", "disputes": "losses_disputes", "dispute_fees": "dispute_fees",
              "negative_balances": "negative_balances_covered"}


def net_gmv(m: Any) -> Any:
    """GMV less refunds and lost disputes. Formulas take a Measures or a DataFrame of sums alike."""
    return m.gmv - m.refunded - m.disputes_lost


def revenue(m: Any) -> Any:
    """Stripe's definition, implicit fees included (see DEFINITIONS["revenue"])."""
    return (m.application_fees - m.application_fees_refunded + m.account_debits - m.account_debits_reversed
            + m.implicit_fees - m.implicit_fees_refunded)


def margin(m: Any) -> Any:
    return revenue(m) - m.stripe_fees


def losses(m: Any) -> Any:
    return m.losses_refunds + m.losses_disputes + m.dispute_fees + m.negative_balances_covered


class Measures(BaseModel):
    """Sums over a set of charges and fees in ONE currency (minor units); every derived figure is a
    property over the formulas above. Ratios are computed from sums, never averaged."""

    currency: str
    gmv: int = 0
    charges: int = 0
    refunded: int = 0
    disputes_lost: int = 0
    dispute_fees: int = 0
    application_fees: int = 0
    application_fees_refunded: int = 0
    implicit_fees: int = 0
    implicit_fees_refunded: int = 0
    account_debits: int = 0
    account_debits_reversed: int = 0
    stripe_fees: int = 0
    negative_balances_covered: int = 0
    losses_refunds: int = 0
    losses_disputes: int = 0
    awaiting_transfer: int = 0
    platform_own_sales: int = 0
    charges_allocated: int = 0
    unconverted_transfers: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_gmv(self) -> int:
        return net_gmv(self)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def revenue(self) -> int:
        return revenue(self)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def margin(self) -> int:
        return margin(self)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def losses(self) -> int:
        return losses(self)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def take_rate_bps(self) -> float | None:
        return basis_points(self.margin, self.gmv)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def revenue_rate_bps(self) -> float | None:
        return basis_points(self.revenue, self.gmv)

    def plus(self, other: Measures) -> Measures:
        """The sum of two sets of the same currency (refuses to add currencies together)."""
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Measures(currency=self.currency, **{m: getattr(self, m) + getattr(other, m) for m in MEASURES})

    __add__ = plus


def basis_points(part: float, whole: float) -> float | None:
    """part / whole x 10,000, to 0.1 bp; None when there is no GMV to divide by."""
    return round(part * 10_000 / whole, 1) if whole else None
