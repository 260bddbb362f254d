"""The app's pages, their sections, and which of them an actor gets (role permissions decide)."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from core.auth import Actor, allowed

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"


class PageSpec(NamedTuple):
    key: str  # file name in pages/ and the URL path
    title: str
    icon: str
    section: str

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.key}.py"


PAGES = (
    PageSpec("overview", "Overview", ":material/dashboard:", "Connect Ops"),
    PageSpec("merchants", "Merchants", ":material/storefront:", "Support"),
    PageSpec("risk", "Risk queue", ":material/policy:", "Risk"),
    PageSpec("revenue", "Revenue", ":material/payments:", "Finance"),
    PageSpec("tax_forms", "Tax forms", ":material/description:", "Finance"),
    PageSpec("explore", "SQL explorer", ":material/query_stats:", "Analysis"),
    PageSpec("audit", "Audit log", ":material/history:", "Admin"),
)


def pages_for(actor: Actor | None) -> list[PageSpec]:
    """Built pages the actor's role may open, in menu order."""
    return [p for p in PAGES if p.path.exists() and allowed(actor, f"page:{p.key}")]
