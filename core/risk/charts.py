"""The risk view's charts as Plotly figures (built here so the page stays widgets only; no Streamlit).

Volume is one trace per currency, in major units for reading (never added across currencies). Dispute activity
and the dispute rate are drawn with the reference lines of core/risk/rules.py as they stood each month, so
Visa's line steps down from 2.2% to 1.5% in April 2026 where the chart spans it.
"""
from __future__ import annotations

import plotly.graph_objects as go

from core.money import to_major
from core.risk import rules
from core.risk.signals import MonthRow

LINE_STYLES = {"stripe_excessive": "dot", "visa_vamp": "dash", "mastercard_ecm": "dashdot",
               "mastercard_hecm": "longdash"}


def _layout(figure: go.Figure, title: str, y_title: str) -> go.Figure:
    figure.update_layout(title=title, height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_title=y_title,
                         legend={"orientation": "h", "y": -0.2}, hovermode="x unified")
    return figure


def volume_figure(months: list[MonthRow]) -> go.Figure:
    """Succeeded charges per month, one bar series per currency."""
    figure = go.Figure()
    for currency in sorted({c for m in months for c in m.volumes}):
        figure.add_bar(x=[m.month for m in months], name=currency.upper(),
                       y=[float(to_major(m.volumes.get(currency, 0), currency)) for m in months])
    figure.update_layout(barmode="group")
    return _layout(figure, "Volume per month (succeeded charges, per currency)", "amount (major units)")


def disputes_figure(months: list[MonthRow]) -> go.Figure:
    """Dispute activity (by dispute date) and dispute rate (by charge date) per month, in %, with the lines."""
    x = [m.month for m in months]
    figure = go.Figure()
    figure.add_scatter(x=x, y=[None if m.activity is None else m.activity * 100 for m in months], mode="lines+markers",
                       name="dispute activity", customdata=[[m.disputes, m.settled] for m in months],
                       hovertemplate="%{y:.2f}% (%{customdata[0]} of %{customdata[1]})")
    figure.add_scatter(x=x, y=[None if m.rate is None else m.rate * 100 for m in months], mode="lines",
                       name="dispute rate (by charge month; recent months still filling)", line={"dash": "dot"})
    for key in rules.DISPUTE_LINES:
        values = [rules.rule(key, m.month) for m in months]
        if not any(values):
            continue
        label = next(v for v in reversed(values) if v is not None).label
        figure.add_scatter(x=x, y=[v.value * 100 if v else None for v in values], mode="lines", name=label,
                           line={"shape": "hv", "dash": LINE_STYLES.get(key, "dash"), "width": 1})
    return _layout(figure, "Disputes per month, with the networks' lines", "% of settled charges")
