"""CSV exports never hand a spreadsheet a formula that a merchant wrote."""
from __future__ import annotations

import csv
import io

import pytest

from core.export import csv_text, safe_cell


@pytest.mark.parametrize("text", ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3",
                                  "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_text_is_made_inert(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Café Müller", "-12.50", "-1,234.50", 42, -7, None, "acct_123"])
def test_plain_values_and_numbers_are_untouched(value: object) -> None:
    assert safe_cell(value) == value


def test_csv_text_round_trips_through_a_reader() -> None:
    text = csv_text(["id", "name"], [["acct_1", "=1+1"], ["acct_2", 'O\'Reilly "Pub", & Grill']])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["id", "name"], ["acct_1", "'=1+1"], ["acct_2", 'O\'Reilly "Pub", & Grill']]
