"""Who may see which page and take which action: one permission table, checked in one function.

The UI hides what a role may not use, and every action calls `require` again, so a role without
the permission cannot act even by calling core directly (datasette's `allowed(actor, action)` idea).
"""
from __future__ import annotations

import fnmatch
from enum import StrEnum
from typing import Mapping

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    SUPPORT = "support"
    RISK = "risk"
    FINANCE = "finance"
    ADMIN = "admin"


# Pages by key (the page file name without .py) and actions by name; roles -> what they may use.
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.SUPPORT: frozenset({
        "page:overview", "page:merchants",
        "action:login_link", "action:account_link", "action:refund", "action:payout_schedule", "action:note",
        "action:sync",
    }),
    Role.RISK: frozenset({
        "page:overview", "page:merchants", "page:risk", "page:explore",
        "action:pause_payouts", "action:reject_account", "action:clear_review", "action:note", "action:sync",
    }),
    Role.FINANCE: frozenset({
        "page:overview", "page:merchants", "page:revenue", "page:tax_forms", "page:explore", "action:sync",
        "action:tax_form_override", "action:tax_mark_filed",
    }),
    Role.ADMIN: frozenset({
        "page:overview", "page:merchants", "page:risk", "page:revenue", "page:tax_forms", "page:audit", "page:explore",
        "action:login_link", "action:account_link", "action:refund", "action:payout_schedule", "action:note",
        "action:pause_payouts", "action:reject_account", "action:clear_review", "action:sync",
        "action:tax_form_override", "action:tax_mark_filed",
    }),
}


class Actor(BaseModel):
    """The signed-in person as the app knows them; passed to every action."""

    model_config = ConfigDict(frozen=True)

    email: str
    name: str | None = None
    role: Role
    demo: bool = False
    read_only: bool = False  # a real Stripe key without sign-in: look, never act


class PermissionDenied(PermissionError):
    """An actor tried something their role does not allow."""


def allowed(actor: Actor | None, permission: str) -> bool:
    """True when the actor's role grants `permission` ('page:x' or 'action:y')."""
    if actor is None or (actor.read_only and permission.startswith("action:") and permission != "action:sync"):
        return False
    return permission in PERMISSIONS.get(actor.role, frozenset())


def require(actor: Actor | None, permission: str) -> None:
    if not allowed(actor, permission):
        who = f"{actor.email} ({actor.role})" if actor else "nobody signed in"
        if actor is not None and actor.read_only:
            raise PermissionDenied(f"{who} may not act: the app is read-only because a real Stripe key is set "
                                   "without sign-in ([auth] in secrets)")
        raise PermissionDenied(f"{who} may not {permission.split(':', 1)[-1].replace('_', ' ')}")


def role_for_email(email: str | None, roles: Mapping[str, list[str] | str]) -> Role | None:
    """The first role whose list holds the email (exact, case-insensitive, or a pattern like *@corp.com).

    `roles` is the `[roles]` table of secrets: role name -> emails. Admin is tried first.
    """
    if not email:
        return None
    wanted = email.strip().lower()
    for role in (Role.ADMIN, Role.RISK, Role.FINANCE, Role.SUPPORT):
        entries = roles.get(role.value, [])
        for entry in [entries] if isinstance(entries, str) else entries:
            if fnmatch.fnmatchcase(wanted, str(entry).strip().lower()):
                return role
    return None
