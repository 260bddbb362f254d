"""Every starter query passes the guard and answers on the demo mirror, and its chart hint fits its columns."""
from __future__ import annotations

import pytest

from core.explore import chart
from core.explore.run import execute, explorer_database
from core.explore.starters import BY_KEY, STARTERS
from core.mirror.store import Store


def test_a_dozen_distinct_starters() -> None:
    assert len(STARTERS) >= 12
    assert len(BY_KEY) == len(STARTERS) and len({s.title for s in STARTERS}) == len(STARTERS)
    for wanted in ("refunds_doubled", "disputes_by_card_country", "take_rate_by_country", "failing_payout_banks",
                   "shared_bank_fingerprints"):
        assert wanted in BY_KEY


@pytest.mark.parametrize("key", list(BY_KEY))
def test_every_starter_runs_on_the_demo_mirror(locked_store: Store, key: str) -> None:
    starter = BY_KEY[key]
    result = execute(explorer_database(locked_store.cursor(), locked_store.path), starter.sql)
    assert result.rows > 0, f"{key} answers nothing on the demo"
    assert len(set(result.columns)) == len(result.columns)
    if starter.chart is not None:
        hint = starter.chart
        assert hint.x in result.columns and hint.y in chart.numeric_columns(result.frame), (key, result.columns)
        assert hint.color is None or hint.color in result.columns
        figure = chart.figure(result.frame, hint.x, hint.y, hint.color, hint.kind)
        assert figure.data, key


def test_money_is_never_added_across_currencies(locked_store: Store) -> None:
    """A starter that sums amounts keeps one row per currency (GMV per month: month x currency is unique)."""
    frame = execute(explorer_database(locked_store.cursor(), locked_store.path), BY_KEY["gmv_by_month"].sql).frame
    assert not frame.duplicated(["month", "currency"]).any()
    assert set(frame["currency"]) >= {"usd", "eur"}


def test_refunds_doubled_means_doubled(locked_store: Store) -> None:
    frame = execute(explorer_database(locked_store.cursor(), locked_store.path), BY_KEY["refunds_doubled"].sql).frame
    assert ((frame["last_30_days"] >= 2 * frame["previous_30_days"]) & (frame["refunds_last_30_days"] >= 3)).all()


def test_shared_fingerprints_are_shared(locked_store: Store) -> None:
    frame = execute(explorer_database(locked_store.cursor(), locked_store.path), BY_KEY["shared_bank_fingerprints"].sql).frame
    assert (frame["accounts"] >= 2).all()
    assert all(len(ids.split(", ")) == n for ids, n in zip(frame["account_ids"], frame["accounts"]))
