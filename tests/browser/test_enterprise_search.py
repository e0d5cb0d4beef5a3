"""At city scale the enterprise fields are search fields: type part of a name, take a suggestion."""
from __future__ import annotations

import re

import pytest

from tests.browser.steps import fill, png

pytestmark = pytest.mark.browser


@pytest.fixture
def many_enterprises(live_app):
    """Pages switch to the search field above ENTERPRISE_SELECT_MAX visible enterprises (the demo has 3)."""
    before = live_app.config["ENTERPRISE_SELECT_MAX"]
    live_app.config["ENTERPRISE_SELECT_MAX"] = 1
    yield
    live_app.config["ENTERPRISE_SELECT_MAX"] = before


def choose(page, field: str, typed: str, name: str) -> str:
    """Type part of a name, wait for the suggestion, take it; returns the id the script put in the form."""
    box = page.locator(f"#{field}")
    box.fill(typed)
    option = page.locator(f'#{field}-options option[value="{name}"]')
    option.wait_for(state="attached")
    box.fill(name)  # what picking the suggestion does
    hidden = page.locator(f"#{field}-id")
    assert hidden.is_enabled()
    assert hidden.input_value() == option.get_attribute("data-id")
    return hidden.input_value()


def test_an_inspector_picks_the_enterprise_by_typing_part_of_its_name(browser, many_enterprises):
    inspector = browser.login("inspector")
    inspector.goto("/hazards/new")
    assert inspector.locator('select[name="enterprise_id"]').count() == 0
    chosen = choose(inspector, "f-enterprise_id", "物流", "明辉商贸物流有限公司")
    fill(inspector, {"title": "货架超载", "description": "货架层板变形", "location": "三号库",
                     "hazard_type": "unsafe_condition", "source": "government_inspection", "photos": [png()]})
    browser.shot(inspector, "60-report-enterprise-search")
    inspector.click("#report-submit")
    inspector.wait_for_url(re.compile(r".*/hazards/\d+$"))
    assert "明辉商贸物流有限公司" in inspector.content()

    inspector.goto("/hazards")
    assert choose(inspector, "enterprise", "明辉", "明辉商贸物流有限公司") == chosen
    inspector.click("#register-filters button[type=submit]")
    inspector.wait_for_url(re.compile(rf".*enterprise={chosen}.*"))
    assert inspector.locator("#enterprise").input_value() == "明辉商贸物流有限公司"
    assert inspector.locator("#register-table").inner_text().count("货架超载") == 1
    # Editing the name drops the id; the server then resolves what was typed.
    inspector.locator("#enterprise").fill("绿源")
    assert inspector.locator("#enterprise-id").input_value() == ""
    inspector.click("#register-filters button[type=submit]")
    inspector.wait_for_url(re.compile(r".*enterprise_name=.*"))
    assert inspector.locator("#enterprise").input_value() == "绿源化工有限公司"
    assert inspector.locator("#register-empty").is_visible()
