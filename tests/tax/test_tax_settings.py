"""The tax settings: state filer IDs, the FX rates file, the default form and method Stripe offers; one line each."""
from __future__ import annotations

import pytest

from core.settings import SettingsError, load_settings


@pytest.mark.parametrize("env, words", [
    ('{bad', "CONNECT_OPS_TAX_STATE_IDS is not JSON"),
    ('["MD"]', "must be a JSON object"),
    ('{"Maryland": "1"}', "'Maryland' is not a two-letter state code"),
    ('{"MD": "<script>"}', "the MD ID must be 1-40 letters"),
])
def test_bad_state_ids_are_one_line(monkeypatch: pytest.MonkeyPatch, env: str, words: str) -> None:
    monkeypatch.setenv("CONNECT_OPS_TAX_STATE_IDS", env)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_state_ids_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_OPS_TAX_STATE_IDS", '{"md": " 12345678 ", "VT": "WHT-1"}')
    assert load_settings().connect_ops_tax_state_ids == {"MD": "12345678", "VT": "WHT-1"}


def test_payouts_only_needs_a_form_stripe_offers_it_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_OPS_TAX_CALCULATION_METHOD", "payouts_only")
    with pytest.raises(SettingsError, match="offered for 1099-NEC and 1099-MISC only"):
        load_settings()
    monkeypatch.setenv("CONNECT_OPS_TAX_FORM_TYPE", "misc")
    assert load_settings().connect_ops_tax_form_type == "misc"
