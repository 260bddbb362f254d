"""Text merchants write is data, never markup: the demo's hostile accounts, searched for and opened.

AppTest sees the markdown *source* each element sends to the browser. So the checks are on that source:
no link, image, HTML tag, URL or invisible/reordering character that came from merchant text survives
unescaped (outside a code span, whose content CommonMark shows literally), and the escaped form of
each hostile value is there, or the value itself in a text element. Rendered by Streamlit's frontend,
the raw names would make links (`[..](..)`), load images (`![..](..)`) and reorder text (U+202E):
before pages escaped merchant text these tests failed on exactly those sources. URLs and emails are
looked for after escapes are undone: in Chromium, remark-gfm turned an escaped `https\\:\\/\\/...` into a
link all the same (md() breaks them with a word joiner).
"""
from __future__ import annotations

import re
from typing import Any

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from core.app.st_runtime import get_runtime
from core.app.text import NAME_LIMIT, md, visible
from core.emulator.seed import HOSTILE_ACCOUNTS
from tests.pages.conftest import open_app

PLAIN = {"text", "code", "dataframe", "json", "table"}  # elements that never render markdown
# md() itself puts a word joiner after ':' and '@' and before an escaped ':' '.' '>' '-' '='
INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2061-\u2064\u2066-\u2069\ufeff]|(?<![:@])\u2060(?!\\\\)")
MARKUP = re.compile(r"\]\(|!\[|<[A-Za-z/!?]|:[a-z][a-z0-9-]*\[")  # link, image, tag, :red[..] (unless escaped)
# GFM turns these into links in the text *after* escapes are undone: a backslash does not stop them
AUTOLINK = re.compile(r"(?i)https?://|www\.|[\w.+-]@[\w-]+\.\w")
OUR_BADGE = re.compile(r":[a-z]+-badge\[[A-Za-z ]+\]")  # st.badge sends its label as a directive
CODE_SPAN = re.compile(r"(?<![\\`])(`+)(?!`)(.+?)(?<!`)\1(?!`)")
NAMES = [spec["name"] for spec in HOSTILE_ACCOUNTS]
NOTE = "![t](https://tracker.example/n.png) [Call us](https://phish.example/call)\n# Urgent\n> **quote** :red[x]"


def _db() -> duckdb.DuckDBPyConnection:
    return get_runtime().store.cursor()


def _ready(role: str = "support") -> AppTest:
    """The app after its first sync has finished (start-up may run it in the background)."""
    at = open_app(role)
    wait = getattr(get_runtime(), "wait_for_first_sync", None)
    if wait is not None:
        wait()
    return at


def _escaped(source: str, i: int) -> bool:
    backslashes = len(source[:i]) - len(source[:i].rstrip("\\"))
    return backslashes % 2 == 1


def unescaped_markup(source: str) -> list[str]:
    """Links, images, tags, URLs and invisible characters a markdown renderer would act on."""
    prose = CODE_SPAN.sub("", source)  # code spans are shown literally
    found = [m.group(0) for m in MARKUP.finditer(prose)
             if not any(_escaped(prose, i) for i in range(m.start(), m.end()) if not prose[i].isalnum())]
    found += AUTOLINK.findall(re.sub(r"\\(.)", r"\1", prose))
    return found + [f"U+{ord(c):04X}" for c in INVISIBLE.findall(source)]


def markdown_sources(at: AppTest) -> list[str]:
    """Every string the page sends to be rendered as markdown: bodies, labels, help, dialog titles."""
    out: list[str] = []

    def visit(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(node, "type", "") not in PLAIN:
            messages = [proto]
            which = proto.WhichOneof("type") if "type" in proto.DESCRIPTOR.oneofs_by_name else None
            if which:
                messages.append(getattr(proto, which))
            for message in messages:
                for name in ("body", "label", "help", "title"):
                    if name in message.DESCRIPTOR.fields_by_name and isinstance(getattr(message, name), str):
                        out.append(getattr(message, name))
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(at.main)
    visit(at.sidebar)
    return [s for s in out if s]


def assert_no_markup(at: AppTest) -> list[str]:
    assert not at.exception, at.exception
    sources = markdown_sources(at)
    bad = {s: unescaped_markup(s) for s in sources if unescaped_markup(s) and not OUR_BADGE.fullmatch(s)}
    assert not bad, bad
    return sources


def _account(name: str) -> str:
    row = _db().execute("SELECT id FROM connected_accounts WHERE business_name = ?", [name]).fetchone()
    assert row is not None, f"the demo seed has no account named {name!r}"
    return row[0]


def _merchant_page(name: str, role: str = "support") -> tuple[AppTest, str]:
    at = _ready(role)
    account = _account(name)
    at.query_params["account"] = account
    return at.switch_page("pages/merchants.py").run(), account


def test_the_check_catches_raw_markup() -> None:
    """Without escaping, each hostile name is flagged; escaped, none is (so the page tests can fail)."""
    for name in NAMES:
        assert unescaped_markup(f"**{name}** · `acct_1`") or name.startswith("Longest"), name
        assert unescaped_markup(f"**{md(name)}** · `acct_1`") == [], name
    assert unescaped_markup("[a](https://phish.example)") and unescaped_markup("<img src=x>")
    assert unescaped_markup("Refund Desk \u202eexe") and not unescaped_markup("`<b>` and `](`")
    assert unescaped_markup(r"https\:\/\/phish\.example") and unescaped_markup(r"a\@phish\.example"), \
        "a browser links these although they are escaped"


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_search_lists_hostile_names_as_text(name: str) -> None:
    at = _ready()
    account = _account(name)
    at.switch_page("pages/merchants.py").run()
    at.text_input(key="merchant_query").input(name[:100]).run()
    sources = assert_no_markup(at)
    assert any(b.key == f"open_{account}" for b in at.button), "the hostile account is found"
    line = next(s for s in sources if account in s)
    assert line.startswith(f"**{md(name, NAME_LIMIT)}** · `{account}`"), line


def test_no_match_quotes_the_query_as_text() -> None:
    at = _ready()
    at.switch_page("pages/merchants.py").run()
    query = "[Nobody here](https://phish.example/none) ![t](https://tracker.example/q.png)"
    at.text_input(key="merchant_query").input(query).run()
    assert_no_markup(at)
    assert any(md(query) in w.value for w in at.warning), [w.value for w in at.warning]


@pytest.mark.parametrize("spec", HOSTILE_ACCOUNTS, ids=range(len(HOSTILE_ACCOUNTS)))
def test_merchant_page_shows_hostile_fields_as_text(spec: dict[str, Any]) -> None:
    name = spec["name"]
    at, _ = _merchant_page(name)
    sources = assert_no_markup(at)
    assert at.subheader[0].value == md(name, NAME_LIMIT)
    if len(visible(name)) > NAME_LIMIT:
        assert at.subheader[0].value.endswith("…") and visible(name) in [t.value for t in at.text], \
            "a cut name is shown whole in a text element"
    text = " ".join(sources)
    if "email" in spec:
        assert md(spec["email"]) in text
    for value in spec.get("metadata", {}).values():
        assert md(value) in text, value


def test_note_with_markdown_is_shown_as_written() -> None:
    at, account = _merchant_page(NAMES[0])
    next(t for t in at.text_area if "internal note" in t.label).input(NOTE)  # a form: sent with its button
    next(b for b in at.button if b.label == "Add note").click().run()
    assert_no_markup(at)
    assert NOTE in [t.value for t in at.text], [t.value for t in at.text]
    assert _db().execute("SELECT body FROM account_notes WHERE account_id = ? ORDER BY id DESC LIMIT 1",
                         [account]).fetchone()[0] == NOTE
