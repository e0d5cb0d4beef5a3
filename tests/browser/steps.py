"""What a user does on the pages, in a few words: fill a form from forms/*.json, open a task, read the status."""
from __future__ import annotations

import re
from datetime import date, timedelta

from app.services.demo import tiny_pdf, tiny_png


def in_days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def png(name: str = "photo.png", colour=(200, 60, 40)) -> dict:
    return {"name": name, "mimeType": "image/png", "buffer": tiny_png(colour, 32)}


def pdf(name: str = "report.pdf") -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": tiny_pdf()}


def fill(page, values: dict) -> None:
    """Fill fields by name the way a person would: tick radios/checkboxes, pick options, type, attach files."""
    for name, value in values.items():
        field = page.locator(f'[data-field="{name}"]')
        if isinstance(value, list):
            field.locator('input[type="file"]').first.set_input_files(value)
        elif isinstance(value, bool):
            box = field.locator('input[type="checkbox"]')
            box.check() if value else box.uncheck()
        elif field.locator('input[type="radio"]').count():
            field.locator(f'input[type="radio"][value="{value}"]').check()
        elif field.locator("select").count():
            field.locator("select").select_option(str(value))
        else:
            field.locator("input, textarea").first.fill(str(value))


def hazard_id(page) -> int:
    match = re.search(r"/hazards/(\d+)$", page.url)
    assert match, f"not on a hazard page: {page.url}"
    return int(match.group(1))


def status(page) -> str:
    return page.locator("#hazard-badges .hl-status").get_attribute("data-status")


def do_step(page, hazard: int, values: dict, shot=None) -> None:
    """From the hazard's page, open the current step, fill it in and submit; back on the hazard's page."""
    page.goto(f"/hazards/{hazard}")
    page.click(".hl-open-task")
    page.wait_for_selector("#task-form")
    fill(page, values)
    if shot:
        shot(page)
    page.click("#task-submit")
    page.wait_for_url(f"**/hazards/{hazard}")
    assert page.locator(".hl-flash.alert-success").count() == 1, page.content()[:2000]


def report(page, values: dict) -> int:
    """Report a hazard from the menu with these values; returns its id (on its page)."""
    page.click("#hl-nav >> text=报告隐患")
    fill(page, values)
    page.click("#report-submit")
    page.wait_for_url("**/hazards/*")
    return hazard_id(page)


def rectify_and_apply_for_acceptance(officer, hazard: int) -> None:
    """A major hazard's rectification and the enterprise's acceptance, done by the safety officer on the pages."""
    do_step(officer, hazard, {"measures_taken": "已更换防爆风机", "after_photos": [png("after.png", (40, 180, 60))],
                              "completed_on": in_days(0)})
    do_step(officer, hazard, {"acceptance_by": "agency", "acceptance_opinion": "整改合格，同意恢复生产",
                              "acceptance_report": [pdf()], "resume_application": True})
