"""The header: every entry on one line, nothing wider than the window, from a small laptop upwards."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [992, 1280])
def test_the_english_header_fits_a_small_laptop_screen_on_one_line(browser, width):
    page = browser.login("admin", width=width, locale="en-US")
    page.goto("/language/en?next=/tasks")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    heights = page.locator(".hl-navbar .nav-link, .hl-navbar .btn").evaluate_all(
        "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().height)")
    assert heights and max(heights) < 48, f"a header entry wraps onto two lines: {heights}"
    bell = page.locator("#hl-notifications")
    assert bell.locator("svg").count() == 1 and bell.get_attribute("aria-label") == "Notifications"
    browser.shot(page, f"header-en-{width}")
