"""Settings: environment and secrets.toml, demo mode, and clear errors that name the setting."""
from __future__ import annotations

from pathlib import Path

import pytest

from core import settings as settings_module
from core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("STRIPE_API_KEY", "STRIPE_API_BASE", "CONNECT_OPS_DB", "CONNECT_OPS_MAX_RPS",
                 "CONNECT_OPS_MAX_RPS_PER_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_no_key_means_demo_mode_with_defaults() -> None:
    settings = load_settings()
    assert settings.demo_mode
    assert settings.stripe_api_base == "https://api.stripe.com"
    assert settings.connect_ops_db == Path("data/connect_ops.duckdb")


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_" + "live_" + "abcdef123456")  # built so no key-shaped string is committed
    settings = load_settings()
    assert not settings.demo_mode and settings.livemode
    assert settings.max_rps == 100 and settings.max_rps_per_endpoint == 25


def test_test_mode_key_gets_test_mode_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "rk_test_abcdef123456")
    monkeypatch.setenv("CONNECT_OPS_MAX_RPS_PER_ENDPOINT", "10")
    settings = load_settings()
    assert settings.max_rps == 25 and settings.max_rps_per_endpoint == 10


@pytest.mark.parametrize(("key", "words"), [
    ("pk_live_abcdef123456", "publishable"),
    ("sk_nope", "malformed"),
    ("hello world", "malformed"),
])
def test_bad_keys_name_the_setting(monkeypatch: pytest.MonkeyPatch, key: str, words: str) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", key)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "STRIPE_API_KEY" in str(raised.value) and words in str(raised.value)
    assert key not in str(raised.value), "a key must never be echoed back"


def test_secrets_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, _isolated: Path) -> None:
    secrets = _isolated / settings_module.SECRETS_FILE
    secrets.parent.mkdir(parents=True)
    secrets.write_text('STRIPE_API_KEY = "sk_test_fromsecrets1"\nCONNECT_OPS_DB = "x.duckdb"\n[roles]\na = "b"\n')
    assert load_settings().stripe_api_key == "sk_test_fromsecrets1"
    monkeypatch.setenv("CONNECT_OPS_DB", "y.duckdb")
    assert load_settings().connect_ops_db == Path("y.duckdb")


def test_malformed_secrets_file_is_a_clear_error(_isolated: Path) -> None:
    secrets = _isolated / settings_module.SECRETS_FILE
    secrets.parent.mkdir(parents=True)
    secrets.write_text("STRIPE_API_KEY = \n")
    with pytest.raises(SettingsError, match="secrets.toml is not valid TOML"):
        load_settings()


def test_bad_api_base_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_API_BASE", "ftp://nowhere")
    with pytest.raises(SettingsError, match="STRIPE_API_BASE"):
        load_settings()


def test_roles_from_secrets_accept_one_email_or_a_list(_isolated: Path) -> None:
    secrets = _isolated / settings_module.SECRETS_FILE
    secrets.parent.mkdir(parents=True, exist_ok=True)
    secrets.write_text('[roles]\nadmin = "boss@corp.com"\nsupport = ["*@support.corp.com"]\n'
                       '[auth]\nclient_id = "x"\n')
    settings = load_settings()
    assert settings.roles == {"admin": ["boss@corp.com"], "support": ["*@support.corp.com"]}
    assert settings.sign_in_configured
