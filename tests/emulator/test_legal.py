"""POST /v1/accounts/{id} with company[address] / individual[address]: bad input is refused as Stripe does (the
change itself is exercised in tests/tax/test_season_actions.py on an emulator of its own)."""
from __future__ import annotations

import pytest
import stripe


def _company_account(client: stripe.StripeClient) -> str:
    return next(a.id for a in client.v1.accounts.list(params={"limit": 100}).auto_paging_iter()
                if a.type != "standard" and a.business_type == "company")


@pytest.mark.parametrize("params, param", [
    ({"company": {"address": {"street": "1 Main"}}}, "company[address][street]"),
    ({"company": {"tax_id": "12-3456789"}}, "company[tax_id]"),
    ({"individual": {"address": {"line1": "1 Main"}}}, "individual"),
])
def test_bad_legal_entity_updates_are_refused(client: stripe.StripeClient, params: dict, param: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.accounts.update(_company_account(client), params=params)
    assert caught.value.param == param
