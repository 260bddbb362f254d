"""Text we did not write, shown as text: the one place that turns it into safe Streamlit markdown.

Merchants choose their own business name, email, metadata and descriptions; agents type search
queries and notes; sign-in providers hand us user names. Streamlit renders every string given to
st.markdown, st.write, st.caption, st.title/header/subheader, st.error/warning/info/success/toast,
widget labels and help tooltips as markdown (react-markdown with remark-gfm, remark-math, Streamlit's
directives such as ``:red[...]``, ``:material/icon:`` and ``:streamlit:``, emoji shortcodes and a few
typographic replacements). A business name ``![x](https://tracker.example/p.png)`` would make every
agent's browser fetch that URL; ``[Verify your account](https://phish.example)`` would become a link.

Prefer text-only elements (st.text, st.code, dataframes) for such text. Where it has to sit inside
markdown, pass it through `md` (or `md_code` for an inline code span):

    st.subheader(md(profile.name, limit=NAME_LIMIT))
    st.caption(f"`{...}` · {md(profile.email)}")

Contract (no Streamlit import; pure functions of their input):

* `visible(value, limit=None)`: ``str(value)`` (``None`` -> ``""``) with every character that is
  invisible or reorders text shown as a backslash escape: control characters (``\\n``, ``\\t``,
  ``\\r``, else ``\\u0007``), Unicode format characters (bidi overrides and isolates such as
  ``\\u202e``, zero-width space/non-joiner/joiner ``\\u200b``-``\\u200d``, word joiner ``\\u2060``,
  BOM ``\\ufeff``, soft hyphen, tag characters...), line/paragraph separators and blank fillers. So
  the result is one line, and what you see is what is stored. (A literal backslash followed by
  ``u202e`` looks the same: the escape is for the eye, not a reversible encoding. Emoji built with a
  zero-width joiner show their parts and a ``\\u200d``.) With `limit`, the result is at most `limit`
  characters: cut before the character that would pass it, never inside an escape, ending in "…"
  (trailing spaces before it dropped).
* `md(value, limit=None)`: markdown source that renders exactly `visible(value, limit)`, inline,
  as plain text: no link, image, HTML, emphasis, heading, list, quote, table, code, math, directive,
  icon, emoji shortcode, autolink or typographic replacement. Every ASCII punctuation character gets
  a backslash (CommonMark renders ``\\X`` as ``X`` for any of them); leading spaces become ``&#32;`` so
  they cannot indent a code block. What is replaced in already-unescaped text, where a backslash
  cannot help, is broken with an invisible U+2060 word joiner: GFM autolink literals (after
  ``http``/``https`` before ``:``, ``www`` before ``.``, and every ``@``), ``:name:`` shortcodes and
  icons (after the opening ``:``) and Streamlit's arrows (`` -> `` `` -- `` `` >= ``...: between their
  two characters). So the text looks the same; copied, it carries those joiners. Safe anywhere
  markdown is rendered, inside our own ``**...**`` too.
* `md_code(value, limit=None)`: an inline code span showing `visible(value, limit)` literally,
  whatever backticks it holds (for ids and fingerprints: keeps the code style and the raw id in
  the source).
"""
from __future__ import annotations

import re
import string
import unicodedata

NAME_LIMIT = 80  # characters of a name shown in a header or a list line; the full value is shown elsewhere
ELLIPSIS = "…"

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# Letters that render as nothing at all (Hangul fillers, combining grapheme joiner, braille blank).
_BLANK_LETTERS = {"\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
_PUNCTUATION = str.maketrans({c: "\\" + c for c in string.punctuation})
_WORD_JOINER = "\u2060"
# Replaced in text nodes, after markdown escapes are undone, so a backslash cannot stop them:
# remark-gfm's autolink literals (https://..., www...., name@host.tld become links), remark-emoji,
# Streamlit's :material_x: / :streamlit: plugins and its typography plugin (-> becomes an arrow).
_AUTOLINK_START = re.compile(r"(?i)(https?(?=:)|www(?=\.)|@)")
_SHORTCODE_START = re.compile(r":(?=[A-Za-z0-9_+\-]+:)")
_TYPOGRAPHY = re.compile(r"(?<!\S)(<->|->|<-|--|>=|<=|~=)(?!\S)")


def _escape_char(ch: str) -> str | None:
    if ch in _NAMED:
        return _NAMED[ch]
    if ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        code = ord(ch)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return None


def visible(value: object, limit: int | None = None) -> str:
    """The text with invisible and reordering characters shown as escapes, cut to `limit` characters."""
    text = "" if value is None else str(value)
    pieces = [_escape_char(ch) or ch for ch in text]
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    if limit < 1:
        raise ValueError("limit must be at least 1")
    out: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + ELLIPSIS


def _break_substitutions(text: str) -> str:
    text = _AUTOLINK_START.sub(lambda m: m.group(1) + _WORD_JOINER, text)
    text = _SHORTCODE_START.sub(":" + _WORD_JOINER, text)
    return _TYPOGRAPHY.sub(lambda m: _WORD_JOINER.join(m.group(1)), text)


def md(value: object, limit: int | None = None) -> str:
    """Markdown source that shows `visible(value, limit)` literally, as inline text."""
    text = _break_substitutions(visible(value, limit)).translate(_PUNCTUATION)
    stripped = text.lstrip(" ")
    return "&#32;" * (len(text) - len(stripped)) + stripped


def md_code(value: object, limit: int | None = None) -> str:
    """An inline code span that shows `visible(value, limit)` literally ("" for empty text)."""
    text = visible(value, limit)
    if not text:
        return ""
    # Streamlit rewrites ":material/" everywhere in the source, code spans included.
    text = text.replace(":material/", ":" + _WORD_JOINER + "material/")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"
