"""One settings model for the whole app, read from the environment and `.streamlit/secrets.toml`.

No API key means demo mode: the app starts the local emulator and talks to it instead of Stripe.
"""
from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime
from urllib.parse import urlsplit
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from core import clock

STRIPE_API_BASE = "https://api.stripe.com"
SECRETS_FILE = Path(".streamlit/secrets.toml")
_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{6,}$")


class SettingsError(ValueError):
    """A setting is present but unusable; the message names the setting and says what to do."""


class SecretsSource(PydanticBaseSettingsSource):
    """Top-level keys of `.streamlit/secrets.toml`, the file Streamlit itself reads for secrets."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{self.path} is not valid TOML: {exc}") from None
        fields = {name.upper(): name for name in self.settings_cls.model_fields}
        return {fields[k.upper()]: v for k, v in data.items() if k.upper() in fields}


class Settings(BaseSettings):
    """Connect Ops configuration. Environment variables win over secrets.toml."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    stripe_api_key: str | None = Field(default=None, description="Secret (sk_) or restricted (rk_) key.")
    stripe_api_base: str = STRIPE_API_BASE
    stripe_api_version: str | None = Field(default=None, description="Stripe-Version to send; none: the SDK's own.")
    connect_ops_db: Path = Path("data/connect_ops.duckdb")
    # People's records (audit log, notes, reviews, overrides, saved queries): none means beside the mirror,
    # <mirror>.records.duckdb (core/mirror/records.py).
    connect_ops_records_db: Path | None = None
    # Every number has a range (issue 19: CONNECT_OPS_SYNC_INTERVAL_MINUTES=1e12 made every page header raise).
    connect_ops_max_rps: float | None = Field(default=None, gt=0, le=10_000, allow_inf_nan=False)
    connect_ops_max_rps_per_endpoint: float | None = Field(default=None, gt=0, le=10_000, allow_inf_nan=False)
    connect_ops_sync_interval_minutes: float = Field(default=10, gt=0, le=7 * 24 * 60, allow_inf_nan=False)
    connect_ops_demo_scale: Literal["small", "medium", "large"] = "small"  # medium (~800k objects), large: opt-in
    connect_ops_demo_seed: int = Field(default=42, ge=0, le=2**31 - 1)
    connect_ops_tax_form_type: Literal["k", "nec", "misc"] = "k"  # the platform's default 1099 (overrides in DuckDB)
    connect_ops_tax_calculation_method: Literal["payments_including_fees", "payments_excluding_fees",
                                                "payouts_only"] = "payments_including_fees"
    connect_ops_now: datetime | None = Field(default=None, description="pins the platform's clock (demo, tests): "
                                             "an ISO instant in UTC, see core/clock.py")
    connect_ops_tax_fx_rates: Path | None = None  # CSV date,currency,rate (USD per unit) for non-USD 1099 amounts
    connect_ops_tax_state_ids: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, description='the platform\'s state filer IDs for 1099s, e.g. {"MD": "12345678"}')
    roles: dict[str, list[str]] = Field(default_factory=dict, description="[roles] in secrets: role -> emails")
    auth: dict[str, Any] | None = Field(default=None, description="[auth] in secrets: Streamlit's OIDC config")

    @field_validator("stripe_api_key", mode="before")
    @classmethod
    def _key_shape(cls, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        key = str(value).strip()
        if key.startswith("pk_"):
            raise ValueError(
                "STRIPE_API_KEY is a publishable key (pk_...); Connect Ops needs a secret key (sk_...) "
                "or a restricted key (rk_...)"
            )
        if not _KEY_PATTERN.match(key):
            raise ValueError(
                "STRIPE_API_KEY is malformed: expected a secret or restricted key (sk_ or rk_, then test_ or live_, then the key)"
            )
        return key

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_shape(cls, value: Any) -> dict[str, list[str]]:
        """`admin = "a@x.com"` and `admin = ["a@x.com", "*@corp.com"]` both work."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("[roles] must be a table of role = [emails]")
        return {str(k): [v] if isinstance(v, str) else list(v) for k, v in value.items()}

    @field_validator("stripe_api_version", mode="before")
    @classmethod
    def _version_shape(cls, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not re.match(r"^\d{4}-\d{2}-\d{2}\.[a-z]+$", str(value).strip()):
            raise ValueError("STRIPE_API_VERSION must look like 2026-10-28.endive (or a .preview version)")
        return str(value).strip()

    @field_validator("connect_ops_now", mode="before")
    @classmethod
    def _now_shape(cls, value: Any) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return clock.parse_instant(value)
        except clock.ClockError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _now_only_off_stripe(self) -> "Settings":
        """A pinned clock is for the local emulator: with a key for Stripe itself, time is Stripe's."""
        if self.connect_ops_now is not None and self.stripe_api_key and not _is_local(self.stripe_api_base):
            raise ValueError("CONNECT_OPS_NOW pins the clock only in demo mode and tests (the local emulator); "
                             "with a Stripe key the clock is Stripe's: unset CONNECT_OPS_NOW")
        return self

    @field_validator("stripe_api_base")
    @classmethod
    def _base_shape(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("STRIPE_API_BASE must be an http(s) URL such as https://api.stripe.com")
        return value.rstrip("/")

    @field_validator("connect_ops_tax_state_ids", mode="before")
    @classmethod
    def _state_ids_shape(cls, value: Any) -> dict[str, str]:
        """Two-letter state codes to IDs of letters, digits, spaces and dashes (at most 40)."""
        if value is None or value == "":
            return {}
        if isinstance(value, str):  # from the environment: JSON, read here so a typo is one line
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError('CONNECT_OPS_TAX_STATE_IDS is not JSON: expected e.g. {"MD": "12345678"}') from None
        if not isinstance(value, dict):
            raise ValueError('CONNECT_OPS_TAX_STATE_IDS must be a JSON object of state = ID, e.g. {"MD": "12345678"}')
        out = {}
        for key, raw in value.items():
            state, text = str(key).strip().upper(), str(raw).strip()
            if not re.fullmatch(r"[A-Z]{2}", state):
                raise ValueError(f"CONNECT_OPS_TAX_STATE_IDS: {str(key)[:10]!r} is not a two-letter state code")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]{0,39}", text):
                raise ValueError(f"CONNECT_OPS_TAX_STATE_IDS: the {state} ID must be 1-40 letters, digits, "
                                 "spaces or dashes")
            out[state] = text
        return out

    @model_validator(mode="after")
    def _tax_method_offered(self) -> Settings:
        """Stripe offers payouts only for the 1099-NEC and 1099-MISC (Docs, 'Choose a calculation method')."""
        if self.connect_ops_tax_calculation_method == "payouts_only" and self.connect_ops_tax_form_type == "k":
            raise ValueError("CONNECT_OPS_TAX_CALCULATION_METHOD=payouts_only is offered for 1099-NEC and 1099-MISC "
                             "only; CONNECT_OPS_TAX_FORM_TYPE is k (1099-K)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretsSource(settings_cls, SECRETS_FILE)

    @property
    def demo_mode(self) -> bool:
        """True when no key is configured: the app runs on the local emulator."""
        return self.stripe_api_key is None

    @property
    def sign_in_configured(self) -> bool:
        """Streamlit's native OIDC sign-in needs an [auth] section in secrets."""
        return bool(self.auth)

    @property
    def livemode(self) -> bool:
        return bool(self.stripe_api_key and "_live_" in self.stripe_api_key)

    @property
    def max_rps(self) -> float:
        """Overall request budget: Stripe's documented limit for the key's mode unless set lower."""
        return self.connect_ops_max_rps or (100.0 if self.livemode else 25.0)

    @property
    def max_rps_per_endpoint(self) -> float:
        return self.connect_ops_max_rps_per_endpoint or 25.0


def _is_local(base: str) -> bool:
    """The API base is this machine (the local emulator), not Stripe or another server."""
    return (urlsplit(base).hostname or "") in ("127.0.0.1", "localhost", "::1")


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and secrets file; raises SettingsError with a readable message.
    A CONNECT_OPS_NOW from secrets.toml pins this process's clock too (the environment's pins it anyway)."""
    from pydantic import ValidationError

    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        messages = "; ".join(_readable(err) for err in exc.errors())
        raise SettingsError(messages) from None
    if settings.connect_ops_now is not None and clock.pinned_text() is None:
        clock.pin(settings.connect_ops_now)
    return settings


def _readable(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if not err.get("loc"):  # a check across settings: its message names them
        return message
    name = str(err["loc"][0]).upper()
    return message if name in message else f"{name}: {message}"
