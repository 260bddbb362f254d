"""An account's status as Stripe's Dashboard names it, from its requirements and capabilities.

One rule set, used in SQL (lists, counts) and in Python (a single account's badge).
"""
from __future__ import annotations

from typing import Any

# Order matters: the first matching status wins.
STATUSES = ("rejected", "in_review", "restricted", "restricted_soon", "enabled")
LABELS = {"rejected": "Rejected", "in_review": "In review", "restricted": "Restricted",
          "restricted_soon": "Restricted soon", "enabled": "Enabled"}
IN_REVIEW_REASONS = ("under_review", "requirements.pending_verification", "listed")

STATUS_SQL = f"""
CASE
    WHEN requirements_disabled_reason LIKE 'rejected.%' THEN 'rejected'
    WHEN requirements_disabled_reason IN {IN_REVIEW_REASONS!r} THEN 'in_review'
    WHEN requirements_disabled_reason IS NOT NULL OR NOT charges_enabled OR NOT payouts_enabled
         OR coalesce(requirements_past_due_count, 0) > 0 THEN 'restricted'
    WHEN coalesce(requirements_currently_due_count, 0) > 0 AND requirements_current_deadline IS NOT NULL
         THEN 'restricted_soon'
    ELSE 'enabled'
END"""

DISABLED_REASONS = {
    "requirements.past_due": "Required information is past due; charges and payouts are paused until it is provided.",
    "requirements.pending_verification": "Stripe is verifying information the account provided.",
    "under_review": "The account is under review by Stripe.",
    "listed": "The account matched a sanctions or watch list and is being reviewed.",
    "platform_paused": "The platform paused this account.",
    "action_required.requested_capabilities": "Capabilities must be requested for this account.",
    "rejected.fraud": "Rejected for suspected fraud.",
    "rejected.terms_of_service": "Rejected for a terms-of-service violation.",
    "rejected.listed": "Rejected: the account is on a sanctions or watch list.",
    "rejected.other": "Rejected for another reason.",
    "rejected.platform_fraud": "Rejected by the platform for fraud.",
    "rejected.platform_other": "Rejected by the platform.",
    "rejected.platform_terms_of_service": "Rejected by the platform for a terms-of-service violation.",
    "other": "Disabled for another reason; see the account in Stripe.",
}


def account_status(account: dict[str, Any]) -> str:
    """Status of one Stripe account object (the `raw` JSON), the same rules as STATUS_SQL."""
    req = account.get("requirements") or {}
    reason = req.get("disabled_reason")
    if reason and reason.startswith("rejected."):
        return "rejected"
    if reason in IN_REVIEW_REASONS:
        return "in_review"
    if reason or not account.get("charges_enabled") or not account.get("payouts_enabled") or req.get("past_due"):
        return "restricted"
    if req.get("currently_due") and req.get("current_deadline"):
        return "restricted_soon"
    return "enabled"


def explain_disabled_reason(reason: str | None) -> str | None:
    if not reason:
        return None
    return DISABLED_REASONS.get(reason, f"Disabled: {reason.replace('_', ' ').replace('.', ': ')}")
