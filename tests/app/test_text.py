"""core.app.text: merchant text shown literally by Streamlit's markdown (pure functions, no Streamlit)."""
from __future__ import annotations

import re
import string

import pytest

from core.app.text import ELLIPSIS, NAME_LIMIT, md, md_code, visible

WJ = "\u2060"
# remark-gfm finds these in the text after escapes are undone (Chromium showed escaped URLs as links)
AUTOLINK = re.compile(r"(?i)https?://|www\.|[\w.+-]@[\w-]+\.\w")
HOSTILE = [
    "[Verify your account](https://phish.example)",
    "![x](https://tracker.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "**bold** __b__ *i* _i_ ~~s~~ `code` ```fence```",
    ":red[alert] :red-background[x] :material/warning: :streamlit: :smile: :+1: :help[?]",
    "$x^2$ and $$\\int$$ \\(a\\)",
    "# heading", "> quote", "- item", "+ item", "* item", "1. first", "1) first", "    indented code",
    "| a | b |", "---", "===", "***", "<https://phish.example>", "https://phish.example www.phish.example",
    "mail@phish.example", "&amp; &#x5B; &lt;b&gt;", "\\[escaped\\]", "[ref]: https://phish.example",
    "[^1] footnote", "- [ ] task", "a -> b <- c <-> d -- e >= f <= g ~= h", "trailing backslash\\",
    "Crème de la Crème Pâtisserie", "株式会社さくら商店", "Zoë's Ünïcode Emporium 🌸", "",
    "HTTP://PHISH.EXAMPLE WWW.PHISH.EXAMPLE first.last+tag@phish.example.co.uk xmpp:a@b.example",
]


def unescape(source: str) -> str:
    """What CommonMark makes of md()'s output: backslash escapes, the &#32; it writes, word joiners."""
    text = source.replace("&#32;", " ")
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
    return text.replace(WJ, "")


def unescaped_punctuation(source: str) -> list[str]:
    """ASCII punctuation in md()'s output that is not itself escaped (only '&#32;' may be)."""
    found, i = [], 0
    source = source.replace("&#32;", "")
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if source[i] in string.punctuation:
            found.append(source[i])
        i += 1
    return found


@pytest.mark.parametrize("text", HOSTILE)
def test_md_renders_the_text_itself(text: str) -> None:
    source = md(text)
    assert unescaped_punctuation(source) == [], source
    assert unescape(source) == text
    decoded_with_joiners = re.sub(r"\\(.)", r"\1", source.replace("&#32;", " "))
    assert not AUTOLINK.search(decoded_with_joiners), decoded_with_joiners


def test_markdown_constructs_lose_their_meaning() -> None:
    assert md("[Verify your account](https://phish.example)") == \
        r"\[Verify your account\]\(https" + WJ + r"\:\/\/phish\.example\)"
    assert md("![x](https://tracker.example/p.png)") == r"\!\[x\]\(https" + WJ + r"\:\/\/tracker\.example\/p\.png\)"
    assert md("ann@phish.example") == "ann\\@" + WJ + "phish\\.example"
    assert md("www.phish.example") == "www" + WJ + "\\.phish\\.example"
    assert md("<img src=x onerror=alert(1)>") == r"\<img src\=x onerror\=alert\(1\)\>"
    assert "](" not in md("[a](b)") and "![" not in md("![a](b)") and "<" not in md("<b>").replace("\\<", "")


def test_streamlit_replacements_that_ignore_backslashes_are_broken() -> None:
    # Streamlit rewrites ":material/" in the raw source: the escaped slash keeps it from matching
    assert ":material/" not in md(":material/warning:")
    # emoji, :streamlit: and :material_x: are replaced after escapes are undone: a word joiner stops them
    for code in (":smile:", ":streamlit:", ":material_home:", ":+1:"):
        rendered = md(code).replace("\\", "")
        assert not re.search(r":[\w+-]+:", rendered), rendered
    assert md("a -> b") == "a \\-" + WJ + "\\> b"
    assert md("x->y") == "x\\-\\>y", "only the spaced forms are replaced by Streamlit"
    assert md("10:30") == "10\\:30", "a colon that starts no shortcode stays as it is"


def test_leading_spaces_cannot_indent_a_code_block() -> None:
    assert md("    code") == "&#32;" * 4 + "code"
    assert md("a    b") == "a    b"


@pytest.mark.parametrize(("raw", "shown"), [
    ("Pay\u200bPal\u200c\u200d\u2060\ufeff", r"Pay\u200bPal\u200c\u200d\u2060\ufeff"),
    ("Invoice \u202egnp.exe\u202c", r"Invoice \u202egnp.exe\u202c"),
    ("\u2066isolate\u2069 \u200e\u200f \u061c", r"\u2066isolate\u2069 \u200e\u200f \u061c"),
    ("line\nbreak\ttab\rcr\x00nul\x7fdel\x85nel", r"line\nbreak\ttab\rcr\u0000nul\u007fdel\u0085nel"),
    ("soft\u00adhyphen \u2028 \u2029 \u3164", r"soft\u00adhyphen \u2028 \u2029 \u3164"),
    ("tag\U000e0041", r"tag\U000e0041"),
    ("Crème 🌸 株式会社", "Crème 🌸 株式会社"),
])
def test_invisible_and_reordering_characters_are_shown(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert unescape(md(raw)) == shown
    assert not re.search("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\n\r]", md(raw))


def test_none_and_non_strings() -> None:
    assert visible(None) == md(None) == md_code(None) == ""
    assert md(42) == "42" and md(1.5) == "1\\.5"


def test_limit_cuts_with_an_ellipsis_and_never_inside_an_escape() -> None:
    name = "Extremely Long Business Name Holdings " * 8
    short = visible(name, NAME_LIMIT)
    assert len(short) <= NAME_LIMIT and short.endswith(ELLIPSIS) and name.startswith(short[:-1])
    assert not short[:-1].endswith(" ")
    assert visible("abc def", 5) == "abc" + ELLIPSIS  # not "abc …"
    assert visible("short", NAME_LIMIT) == "short"
    assert visible("x" * NAME_LIMIT, NAME_LIMIT) == "x" * NAME_LIMIT
    assert visible("abcd\u202eefgh", 7) == "abcd" + ELLIPSIS  # "\u202e" does not fit: not cut in half
    assert unescape(md(name, NAME_LIMIT)) == short
    with pytest.raises(ValueError):
        visible("abc", 0)


@pytest.mark.parametrize(("raw", "source"), [
    ("acct_1Nx", "`acct_1Nx`"),
    ("a`b", "``a`b``"),
    ("``x", "``` ``x ```"),
    ("x ", "` x  `"),
    ("<img src=x>", "`<img src=x>`"),
    (":material/home:", "`:" + WJ + "material/home:`"),
    ("a\u202eb", "`a\\u202eb`"),
])
def test_md_code(raw: str, source: str) -> None:
    assert md_code(raw) == source


@pytest.mark.parametrize("text", HOSTILE)
def test_md_code_cannot_be_closed_early(text: str) -> None:
    source = md_code(text)
    if not text:
        assert source == ""
        return
    fence = re.match(r"`+", source).group(0)
    inner = source[len(fence):len(source) - len(fence)]
    assert source.endswith(fence)
    assert max((len(r) for r in re.findall("`+", inner)), default=0) < len(fence), "no run inside closes it"
