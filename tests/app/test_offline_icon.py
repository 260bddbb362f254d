"""Issue 19: the tab icon was ":material/hub:", which the browser fetches from fonts.gstatic.com on every page
(failing offline or behind a strict proxy). It is now a file the app serves itself; in-page icons use the
Material Symbols font Streamlit ships in its own static files."""
from __future__ import annotations

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def test_the_tab_icon_is_served_by_the_app() -> None:
    tree = ast.parse((ROOT / "app.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "set_page_config"]
    assert calls, "app.py sets the page config"
    for call in calls:
        icon = next(k.value for k in call.keywords if k.arg == "page_icon")
        assert not (isinstance(icon, ast.Constant) and str(icon.value).startswith(":material")), ast.unparse(icon)

    def script() -> None:
        import streamlit as st
        from streamlit.commands.page_config import _get_favicon_string

        from app_icon_probe import APP_ICON  # noqa: F401 - set below through sys.modules

        st.write(_get_favicon_string(str(APP_ICON)))

    import sys
    import types

    probe = types.ModuleType("app_icon_probe")
    probe.APP_ICON = ROOT / "core" / "app" / "static" / "icon.svg"
    sys.modules["app_icon_probe"] = probe
    at = AppTest.from_function(script).run(timeout=30)
    shown = at.markdown[0].value
    assert shown.startswith(("/media/", "data:image/svg+xml")), shown[:80]  # served or inlined: never fetched
    assert ":material" not in shown and not shown.startswith("http")
