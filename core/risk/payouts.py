"""Payouts already on their way when risk pauses an account: the manual-schedule fallback stops Stripe's
automatic payouts from then on, but a payout already created goes out unless it is canceled. Only a
`pending` payout can be canceled (https://docs.stripe.com/api/payouts/cancel); one `in_transit` cannot.
"""
from __future__ import annotations

from typing import Any

import duckdb

from core.actions import ActionFailed, ActionResult, Context, as_dict, perform, request_options
from core.auth import Actor
from core.money import format_amount


def pending_payouts(db: duckdb.DuckDBPyConnection, account_id: str) -> list[dict[str, Any]]:
    """The account's payouts still pending, as last synced (newest first)."""
    result = db.execute("SELECT id, amount, currency, arrival_date FROM payouts WHERE account = ? AND status = 'pending' "
                        "ORDER BY created DESC", [account_id])
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def words(pending: list[dict[str, Any]]) -> str:
    """'2 pending payouts (USD 120.00, USD 80.00)'."""
    amounts = ", ".join(format_amount(p["amount"], p["currency"]) for p in pending)
    return f"{len(pending)} pending payout{'s' if len(pending) != 1 else ''} ({amounts})"


def cancel_pending(ctx: Context, actor: Actor, account_id: str, reason: str) -> str:
    """Cancel each pending payout of the account (each its own audited action); says what happened to each."""
    done = []
    for payout in pending_payouts(ctx.store.cursor(), account_id):
        payout_id = payout["id"]
        try:
            perform(ctx, actor, "pause_payouts", account_id=account_id, target_id=payout_id,
                    params={"cancel_payout": payout_id}, reason=reason,
                    call=lambda key, p=payout_id: ctx.api.call(
                        "POST", f"/v1/payouts/{p}/cancel", lambda: ctx.api.client.v1.payouts.cancel(
                            p, options=request_options(key, account_id))),
                    resync=lambda obj: [("payouts", account_id, as_dict(obj))],
                    done=lambda obj: ActionResult(audit_id=None, message=f"Payout {obj.id} {obj.status}."))
            done.append(f"{payout_id} canceled")
        except ActionFailed as exc:
            done.append(f"{payout_id} not canceled: {exc}")
    return "; ".join(done) if done else "no pending payout to cancel"
