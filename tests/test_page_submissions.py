"""Sending the task and report pages' forms with files: who may act is checked before any file is stored, a
refused submission shows the page again with what was typed and leaves no file and no row behind, and a form
with a field to fix keeps the files that were accepted."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment
from app.services.demo import tiny_png
from tests import designer_diagrams as dd
from tests.helpers import in_days, stored_keys
from tests.test_pages import Pages, text


@pytest.fixture
def pages(client):
    return Pages(client)


RECTIFIED = {"measures_taken": "Locked the box", "completed_on": in_days(0)}


def stored(app) -> tuple[int, int]:
    """(attachment rows, files in the upload directory)."""
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(Attachment))
        db.session.remove()
    return rows, len(stored_keys(app))


def photo(name: str = "after.png") -> tuple:
    return io.BytesIO(tiny_png()), name


def kept_ids(html: str, field: str) -> list[str]:
    return re.findall(rf'<input type="hidden" name="{field}" value="(\d+)">', html)


def deploy_refusing_assessment(app) -> None:
    """A process version whose first step takes photos (the rectify form) and whose next gateway cannot be
    evaluated (`grade` is never set): the engine refuses every completion of that step."""
    xml = dd.set_property(dd.shipped(), "assess", "formKey", "rectify")
    with app.test_request_context():  # deploying it now is refused by the dry run: an older version
        dd.activate_unchecked("hazard_lifecycle", xml)
        db.session.remove()


def test_a_completion_the_process_refuses_keeps_what_was_typed_and_leaves_no_file_or_row(pages, app):
    deploy_refusing_assessment(app)
    pages.login("officer_a")
    hazard = pages.report()
    task = pages.open_task(hazard)
    before = stored(app)

    # A field to fix: the accepted photo is kept (committed) for the next try.
    resp = pages.post(f"/tasks/{task}", {"measures_taken": "Locked the box", "after_photos": [photo()]},
                      content_type="multipart/form-data")
    assert resp.status_code == 422
    [kept] = kept_ids(text(resp), "after_photos")
    assert stored(app) == (before[0] + 1, before[1] + 1)

    resp = pages.post(f"/tasks/{task}?lang=en", dict(RECTIFIED, after_photos=[kept, photo("second.png")]),
                      content_type="multipart/form-data")
    html = text(resp)
    assert resp.status_code == 409
    assert re.search(r'id="task-refused".*?The process could not continue', html, re.DOTALL)
    assert 'id="task-form"' in html and "Locked the box" in html and f'value="{in_days(0)}"' in html
    assert kept_ids(html, "after_photos") == [kept], "the photo sent before is still there; the new one is not"
    assert stored(app) == (before[0] + 1, before[1] + 1), "the refused upload left no row and no file"


def test_someone_who_may_not_act_sees_the_page_again_with_their_input_and_nothing_is_stored(pages, app):
    deploy_refusing_assessment(app)  # only for its first step with photos: the principal is refused before
    officer = Pages(app.test_client())
    officer.login("officer_a")
    task = officer.open_task(officer.report())
    before = stored(app)

    pages.login("principal_a")  # the step is the safety officer's
    pages.get(f"/tasks/{task}")
    resp = pages.post(f"/tasks/{task}", dict(RECTIFIED, measures_taken="加锁并挂牌", after_photos=[photo()]),
                      content_type="multipart/form-data")
    html = text(resp)
    assert resp.status_code == 403
    assert re.search(r'id="task-refused".*?您无法办理', html, re.DOTALL)
    assert 'id="task-form"' not in html and re.search(r'<fieldset disabled[^>]*id="task-entered"', html)
    assert "加锁并挂牌" in html
    assert stored(app) == before


def test_a_step_sent_again_after_it_was_done_stores_no_file(pages, app):
    pages.login("officer_a")
    hazard = pages.report()
    pages.post(f"/tasks/{pages.open_task(hazard)}", {
        "grade": "general", "responsible_person": "张", "measures": "m", "rectification_deadline": in_days(5)},
        content_type="multipart/form-data")
    task = pages.open_task(hazard)
    resp = pages.post(f"/tasks/{task}", dict(RECTIFIED, after_photos=[photo()]), content_type="multipart/form-data")
    assert resp.status_code == 302
    before = stored(app)
    resp = pages.post(f"/tasks/{task}", dict(RECTIFIED, measures_taken="又一次", after_photos=[photo()]),
                      content_type="multipart/form-data")
    html = text(resp)
    assert resp.status_code == 409 and re.search(r'id="task-refused".*?已办理完毕', html, re.DOTALL)
    assert 'id="task-closed"' in html and re.search(r'id="task-entered".*?又一次', html, re.DOTALL)
    assert stored(app) == before


def test_the_report_page_keeps_an_accepted_photo_when_another_file_is_refused(pages, app):
    pages.login("officer_a")
    pages.get("/hazards/new")
    form = {"title": "配电箱未上锁", "description": "巡检发现配电箱门敞开", "location": "一车间",
            "hazard_type": "unsafe_condition", "source": "self_check"}
    resp = pages.post("/hazards/new", dict(form, photos=[photo(), (io.BytesIO(b"MZ not a photo"), "virus.exe")]),
                      content_type="multipart/form-data")
    assert resp.status_code == 422 and "virus.exe" in text(resp)
    [kept] = kept_ids(text(resp), "photos")
    assert "配电箱门敞开" in text(resp)
    resp = pages.post("/hazards/new", dict(form, photos=kept), content_type="multipart/form-data")
    assert resp.status_code == 302
    assert re.search(r"hl-gallery-before.*?/attachments/" + kept, text(pages.get(resp.location)), re.DOTALL)
