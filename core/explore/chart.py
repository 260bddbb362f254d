"""A Plotly chart of a query's result: the reader picks x, y and colour; the kind follows from x unless chosen.

Text in a result may be a merchant's (names, descriptions): Plotly.js reads a few HTML tags in labels
(<a href>, <b>, <br>), so every text value is escaped (and its invisible characters shown) before it
reaches the figure, as core/app/text.py does for markdown.
"""
from __future__ import annotations

import html

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from core.app.text import visible

KINDS = ("auto", "bar", "line", "scatter", "area")
MAX_POINTS = 5_000  # rows drawn at most (the table and the download hold the rest)
LABEL_LIMIT = 60


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


def default_axes(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """A first guess: x the first non-numeric column (else the first), y the first numeric one after it."""
    columns = [str(c) for c in frame.columns]
    numbers = numeric_columns(frame)
    if not columns or not numbers:
        return (columns[0] if columns else None), None
    x = next((c for c in columns if c not in numbers), columns[0])
    y = next((c for c in numbers if c != x), None)
    return x, y


def resolved_kind(frame: pd.DataFrame, x: str, kind: str = "auto") -> str:
    if kind != "auto":
        return kind
    column = frame[x]
    if pd.api.types.is_datetime64_any_dtype(column) or _looks_like_dates(column):
        return "line"
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return "scatter"
    return "bar"


def figure(frame: pd.DataFrame, x: str, y: str, color: str | None = None, kind: str = "auto") -> go.Figure:
    """The figure; ValueError naming the column when x, y or colour is not in the result."""
    for name in (x, y, color):
        if name is not None and name not in frame.columns:
            raise ValueError(f"no column {name} in the result")
    kind = resolved_kind(frame, x, kind)
    used = list(dict.fromkeys(c for c in (x, y, color) if c))
    data = frame[used].head(MAX_POINTS).copy()
    for name in used:
        if not (pd.api.types.is_numeric_dtype(data[name]) or pd.api.types.is_datetime64_any_dtype(data[name])):
            data[name] = [None if _missing(v) else html.escape(visible(v, LABEL_LIMIT), quote=False)
                          for v in data[name]]
    if kind == "line" or kind == "area":
        data = data.sort_values(x, kind="stable")
    labels = _labels(used)  # column names go into hover text and titles too: escaped, always
    data = data.rename(columns=labels)
    draw = {"bar": px.bar, "line": px.line, "scatter": px.scatter, "area": px.area}[kind]
    fig = draw(data, x=labels[x], y=labels[y], color=labels[color] if color else None)
    if kind == "line":
        fig.update_traces(mode="lines+markers")
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def _labels(names: list[str]) -> dict[str, str]:
    """Each column's escaped label, made unique with a number when two escape to the same text (never the
    raw name: `<a href>` would be a live link in an axis title)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        label, n = _label(name) or "column", 1
        candidate = label
        while candidate in taken:
            n += 1
            candidate = f"{label} ({n})"
        taken.add(candidate)
        out[name] = candidate
    return out


def _label(name: str | None) -> str:
    return html.escape(visible(name, LABEL_LIMIT), quote=False) if name else ""


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _looks_like_dates(column: pd.Series) -> bool:
    sample = column.dropna().head(5)
    return bool(len(sample)) and all(hasattr(v, "isoformat") and not isinstance(v, str) for v in sample)
