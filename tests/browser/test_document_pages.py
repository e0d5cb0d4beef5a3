"""Printable documents in a real browser: each document's print page (screen, print media, a phone), its PDF link,
and the administrator's template editor refusing a broken template. Screenshots go to test-artifacts/."""
from __future__ import annotations

import pytest

from app.services.documents import KINDS
from tests.conftest import Api
from tests.document_steps import ENTERPRISE, NOTICE, major_hazard

pytestmark = pytest.mark.browser


def test_each_document_prints_from_the_hazard_page_and_downloads_as_pdf(browser, live_app):
    hazard = major_hazard(Api(live_app.test_client()), live_app, "written_off")
    inspector = browser.login("inspector")
    inspector.goto(f"/hazards/{hazard}")
    links = inspector.locator("#documents [data-document]")
    assert links.count() == len(KINDS)
    for kind in KINDS:
        inspector.goto(f"/hazards/{hazard}")
        inspector.click(f'#documents [data-document="{kind}"] a >> nth=0')
        inspector.wait_for_selector(f'#hl-document[data-kind="{kind}"]')
        sheet = inspector.locator("#hl-document")
        assert KINDS[kind].title in sheet.inner_text() and ENTERPRISE in sheet.inner_text()
        assert sheet.locator("svg.hl-qr-code").count() == 1
        browser.shot(inspector, f"document-{kind}")
        # Printed, the page is the sheet alone: no menu, no toolbar.
        inspector.emulate_media(media="print")
        assert not inspector.locator(".hl-navbar").is_visible() and not inspector.locator("#hl-doc-pdf").is_visible()
        browser.shot(inspector, f"document-{kind}-print")
        inspector.emulate_media(media="screen")
        pdf = inspector.request.get(inspector.locator("#hl-doc-pdf").get_attribute("href"))
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body()[:5] == b"%PDF-"
    assert NOTICE in inspector.goto(f"/hazards/{hazard}/documents/supervision_notice").text()

    phone = browser.login("officer_a", width=375, height=740)
    phone.goto(f"/hazards/{hazard}/documents/supervision_notice")
    phone.wait_for_selector("#hl-document")
    browser.shot(phone, "phone-document-supervision_notice")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_template_editor_previews_and_refuses_a_broken_template(browser, live_app):
    admin = browser.login("admin")
    admin.goto("/admin/forms")
    admin.click("#hl-document-templates-link")
    admin.click('#hl-document-templates [data-kind="supervision_notice"] a')
    admin.wait_for_selector("#hl-template-body")
    admin.click("#hl-template-preview")
    admin.wait_for_selector("#hl-template-preview-sheet")
    assert "〔listing.notice_number〕" in admin.locator("#hl-template-preview-sheet").inner_text()
    browser.shot(admin, "document-template-preview")
    admin.fill("#hl-template-body", "<p>{{ ''.__class__.__mro__ }}</p>")
    admin.click("#hl-template-save")
    admin.wait_for_selector("#hl-template-body-error")
    assert "__mro__" in admin.locator("#hl-template-body-error").inner_text()
    browser.shot(admin, "document-template-refused")
