"""Daily exchange rates to USD that finance loads, for every non-USD payment on a 1099.

Stripe's 1099 converts each payment to USD at the market rate of the day it was made (Stripe Docs,
'Choose a calculation method', docs.stripe.com/connect/calculation-methods: non-USD amounts are converted
at the market rate of the day of the transaction). A balance transaction's
own `exchange_rate` cannot stand in: it exists only when the money settled in USD, and it includes
Stripe's FX fee. So finance loads a table (CONNECT_OPS_TAX_FX_RATES names a CSV of `date,currency,rate`,
one row per day and currency, rate = USD per one unit of the currency) and every non-USD payment is
converted with the rate of its day. A payment whose day has no rate is never dropped: the form reads
"Needs attention: Exchange rate missing" with the unconverted amount shown.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import BaseModel

from core.money import ZERO_DECIMAL

COLUMNS = ("date", "currency", "rate")
MAX_ROWS = 500_000  # forty years of every Stripe currency; a bigger file is not a rates table


class RatesError(ValueError):
    """A rates file that cannot be used: one line saying where and why."""


class Rates(BaseModel):
    """USD per unit of `currency` on `day`, as loaded (Decimal text, never a float on the way)."""

    by_day: dict[tuple[date, str], Decimal] = {}
    source: str = ""

    def sql_params(self) -> dict[str, list]:
        items = sorted(self.by_day.items())
        return {"rate_days": [d for (d, _), _r in items], "rate_currencies": [c for (_, c), _r in items],
                "rate_values": [str(r) for _k, r in items], "zero_decimal": sorted(ZERO_DECIMAL)}

    def __len__(self) -> int:
        return len(self.by_day)


NO_RATES = Rates()


def parse_rates(text: str, source: str = "rates") -> Rates:
    """The CSV's rows; the first bad row is reported as `source line N: why`."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if tuple(header[:3]) != COLUMNS:
        raise RatesError(f"{source}: the first line must be the header date,currency,rate")
    rates: dict[tuple[date, str], Decimal] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if line > MAX_ROWS + 1:
            raise RatesError(f"{source}: more than {MAX_ROWS:,} rows")
        day, currency, rate = _row(source, line, row)
        if (day, currency) in rates and rates[(day, currency)] != rate:
            raise RatesError(f"{source} line {line}: a second, different rate for {currency.upper()} on {day}")
        rates[(day, currency)] = rate
    return Rates(by_day=rates, source=source)


def _row(source: str, line: int, row: list[str]) -> tuple[date, str, Decimal]:
    where = f"{source} line {line}"
    if len(row) < 3:
        raise RatesError(f"{where}: expected date,currency,rate")
    try:
        day = date.fromisoformat(row[0].strip())
    except ValueError:
        raise RatesError(f"{where}: {row[0].strip()[:20]!r} is not a date (YYYY-MM-DD)") from None
    currency = row[1].strip().lower()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise RatesError(f"{where}: {row[1].strip()[:20]!r} is not a three-letter currency code")
    if currency == "usd":
        raise RatesError(f"{where}: USD needs no rate")
    try:
        rate = Decimal(row[2].strip())
    except InvalidOperation:
        raise RatesError(f"{where}: {row[2].strip()[:20]!r} is not a number") from None
    if not rate.is_finite() or not Decimal("0.00000001") <= rate <= Decimal("100000"):
        raise RatesError(f"{where}: the rate must be between 0.00000001 and 100000 USD per unit")
    if rate.as_tuple().exponent < -10:  # type: ignore[operator]
        raise RatesError(f"{where}: more than 10 decimals")
    return day, currency, rate


def load_rates(path: Path | None) -> Rates:
    """The setting's file (no setting: no rates, and every non-USD payment needs attention)."""
    if path is None:
        return NO_RATES
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RatesError(f"CONNECT_OPS_TAX_FX_RATES={path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RatesError(f"CONNECT_OPS_TAX_FX_RATES={path}: cannot read it ({type(exc).__name__})") from None
    return parse_rates(text, f"CONNECT_OPS_TAX_FX_RATES={path}")
