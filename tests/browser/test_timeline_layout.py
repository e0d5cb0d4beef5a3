"""The hazard's history stays readable in English and on phones: the value column keeps most of the width (it used
to collapse to one character per line beside long English labels)."""
from __future__ import annotations

import pytest

from tests.browser.steps import do_step, fill, hazard_id, in_days, png

pytestmark = pytest.mark.browser

LONG = "Lock the distribution box and post a warning sign beside the forklift lane before the next shift starts"


def value_widths(page) -> list[tuple[float, float]]:
    """(value width, list width) of each row of the timeline's submitted data."""
    return page.evaluate("""() => [...document.querySelectorAll('.hl-event-data dd')].map(
        dd => [dd.getBoundingClientRect().width, dd.parentElement.getBoundingClientRect().width])""")


def test_the_history_value_column_keeps_its_width_in_english_on_a_phone_and_a_desktop(browser):
    officer = browser.login("officer_a", width=375, height=740, locale="en")
    officer.goto("/language/en?next=/hazards/new")
    officer.goto("/hazards/new")
    fill(officer, {"title": "Forklift lane floor broken", "description": "Potholes in the forklift lane",
                   "location": "Finished goods warehouse", "hazard_type": "unsafe_condition", "photos": [png()]})
    officer.click("#report-submit")
    officer.wait_for_url("**/hazards/*")
    hazard = hazard_id(officer)
    do_step(officer, hazard, {"grade": "general", "responsible_person": "Zhang", "measures": LONG,
                              "rectification_deadline": in_days(3)})
    for width in (375, 1280):
        officer.set_viewport_size({"width": width, "height": 900})
        officer.goto(f"/hazards/{hazard}")
        rows = value_widths(officer)
        assert rows, "the timeline shows the submitted data"
        browser.shot(officer, f"timeline-values-en-{width}")
        for value, whole in rows:
            assert value >= 0.5 * whole, f"at {width}px a value is {value:.0f}px of {whole:.0f}px"
