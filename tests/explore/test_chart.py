"""Chart labels are escaped text always (issue 19: when two escaped labels collided, the raw names were used,
and `<a href>` became a live link in an axis title)."""
from __future__ import annotations

import pandas as pd

from core.explore import chart


def test_colliding_labels_stay_escaped() -> None:
    stem = "<a href='https://phish.example/'>x</a>" + "y" * 200
    frame = pd.DataFrame({stem + "1": [1, 2, 3], stem + "2": [4, 5, 6]})
    fig = chart.figure(frame, stem + "1", stem + "2", kind="scatter")
    titles = [fig.layout.xaxis.title.text, fig.layout.yaxis.title.text]
    assert all("<a" not in t and "&lt;a" in t for t in titles), titles
    assert titles[0] != titles[1], "the two columns stay told apart"
    hover = " ".join(str(trace.hovertemplate) for trace in fig.data)
    assert "<a" not in hover
