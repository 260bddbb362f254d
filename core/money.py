"""Money stays integer minor units with its currency until it is shown; this is where it is shown."""
from __future__ import annotations

from decimal import Decimal

# ISO 4217 currencies Stripe treats as zero-decimal (amounts are whole units).
ZERO_DECIMAL = frozenset({
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
})
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$"}


def minor_per_unit(currency: str) -> int:
    return 1 if currency.lower() in ZERO_DECIMAL else 100


def to_major(amount: int, currency: str) -> Decimal:
    """Exact major units (Decimal, never float) for display and for inputs shown back to people."""
    return Decimal(int(amount)) / minor_per_unit(currency)


def to_minor(major: Decimal | float | str, currency: str) -> int:
    """Major units typed by a person -> integer minor units; rejects sub-minor precision."""
    value = Decimal(str(major)) * minor_per_unit(currency)
    if value != value.to_integral_value():
        raise ValueError(f"{major} has more decimals than {currency.upper()} allows")
    return int(value)


def format_amount(amount: int | None, currency: str | None) -> str:
    """'$1,234.50', '¥1,200', 'CHF 12.00'; '—' when there is nothing to show."""
    if amount is None or not currency:
        return "—"
    major = to_major(amount, currency)
    digits = 0 if minor_per_unit(currency) == 1 else 2
    text = f"{abs(major):,.{digits}f}"
    sign = "-" if major < 0 else ""
    symbol = SYMBOLS.get(currency.lower())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency.upper()} {text}"


def format_amounts(amounts: dict[str, int]) -> str:
    """Several currencies side by side, never added up: 'USD 12.34 · EUR -1.00'; '—' when empty.

    ISO codes rather than symbols, since $ alone would not tell USD from CAD in one list."""
    parts = []
    for currency, amount in sorted(amounts.items()):
        digits = 0 if minor_per_unit(currency) == 1 else 2
        parts.append(f"{currency.upper()} {to_major(amount, currency):,.{digits}f}")
    return " · ".join(parts) or "—"


def with_money(rows: list[dict], fields: tuple[str, ...] = ("amount",), currency_field: str = "currency") -> list[dict]:
    """Rows for a table on a page: the named minor-unit fields shown in their row's currency."""
    shown = []
    for row in rows:
        copy = dict(row)
        for name in fields:
            if name in copy:
                copy[name] = format_amount(copy[name], copy.get(currency_field))
        shown.append(copy)
    return shown
