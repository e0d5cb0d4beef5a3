"""Accessibility checks with axe-core (from npm, node_modules/axe-core): WCAG 2.1 A and AA, as GB/T 37668 asks.

The script is evaluated through the DevTools protocol (Playwright's evaluate), which the pages' Content-Security-
Policy does not apply to, so the pages are checked exactly as they are served.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@cache
def _source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is needed for the accessibility checks: `make assets` installs it ({AXE} is missing)")
    return AXE.read_text(encoding="utf-8")


def violations(page) -> list[str]:
    """What axe-core finds on the page as it is now: one line per rule, with up to three of its elements."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_source())
    found = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return result.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` + v.nodes.slice(0, 3).map(
            n => n.target.join(' ') + (n.any[0] && n.any[0].data && n.any[0].data.contrastRatio
                ? ` [contrast ${n.any[0].data.contrastRatio}: ${n.any[0].data.fgColor} on ${n.any[0].data.bgColor}]` : '')
        ).join('; '));
    }""", TAGS)
    return found


def assert_accessible(page, name: str) -> None:
    found = violations(page)
    assert not found, f"{name}: " + "\n".join(found)
