"""Roles and permissions: the table decides, patterns match emails, unknown people get nothing."""
from __future__ import annotations

import pytest

from core.auth import PERMISSIONS, Actor, PermissionDenied, Role, allowed, require, role_for_email

ROLES = {"admin": ["boss@corp.com"], "support": ["*@support.corp.com", "Ann@Corp.com"], "finance": "cfo@corp.com"}


@pytest.mark.parametrize(("email", "role"), [
    ("boss@corp.com", Role.ADMIN),
    ("BOSS@corp.com ", Role.ADMIN),
    ("zoë@support.corp.com", Role.SUPPORT),
    ("ann@corp.com", Role.SUPPORT),
    ("cfo@corp.com", Role.FINANCE),
    ("stranger@corp.com", None),
    ("", None),
    (None, None),
])
def test_role_for_email(email: str | None, role: Role | None) -> None:
    assert role_for_email(email, ROLES) == role


def test_each_role_gets_exactly_its_table_row() -> None:
    support = Actor(email="a@b.c", role=Role.SUPPORT)
    assert allowed(support, "action:refund")
    assert not allowed(support, "action:reject_account")
    assert not allowed(support, "page:audit")
    assert not allowed(None, "page:overview")
    for role, permissions in PERMISSIONS.items():
        actor = Actor(email="x@y.z", role=role)
        assert allowed(actor, "page:overview")
        assert allowed(actor, "page:audit") == (role is Role.ADMIN)


def test_require_raises_with_who_and_what() -> None:
    finance = Actor(email="cfo@corp.com", role=Role.FINANCE)
    with pytest.raises(PermissionDenied, match=r"cfo@corp.com \(finance\) may not refund"):
        require(finance, "action:refund")
    require(Actor(email="boss@corp.com", role=Role.ADMIN), "action:refund")


def test_read_only_actor_can_look_and_sync_but_not_act() -> None:
    viewer = Actor(email="local", role=Role.ADMIN, read_only=True)
    assert allowed(viewer, "page:audit") and allowed(viewer, "action:sync")
    assert not allowed(viewer, "action:refund")
    with pytest.raises(PermissionDenied, match="read-only"):
        require(viewer, "action:refund")
