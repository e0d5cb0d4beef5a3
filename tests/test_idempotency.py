"""Idempotent retries (issue 18): a creating API request sent again with the same `Idempotency-Key` answers what
the first one created instead of creating it twice (report, upload, completion)."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Hazard
from app.services.demo import tiny_png
from tests.helpers import REPORT, current_task, in_days, upload

KEY = {"Idempotency-Key": "4f9c2b1e-6a7d-4e3f-9b8a-1c2d3e4f5a6b"}


def count(app, model) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return n


def test_a_retried_report_returns_the_first_answer_and_records_one_hazard(api, app):
    officer = api.as_("officer_a")
    first = officer.post("/hazards", json=REPORT, headers=KEY)
    again = officer.post("/hazards", json=REPORT, headers=KEY)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["number"] == first.get_json()["number"]
    assert count(app, Hazard) == 1
    other = officer.post("/hazards", json=REPORT, headers={"Idempotency-Key": "another-key"})
    assert other.status_code == 201 and count(app, Hazard) == 2


def test_a_key_is_per_user_and_a_refused_request_keeps_no_key(api, app):
    officer, principal = api.as_("officer_a"), api.as_("principal_a")
    refused = officer.post("/hazards", json=dict(REPORT, title=""), headers=KEY)
    assert refused.status_code == 422 and count(app, Hazard) == 0
    assert officer.post("/hazards", json=REPORT, headers=KEY).status_code == 201
    assert principal.post("/hazards", json=REPORT, headers=KEY).status_code == 201  # someone else's key
    assert count(app, Hazard) == 2


def test_a_retried_upload_returns_the_first_file(api, app):
    officer = api.as_("officer_a")
    answers = [officer.post("/attachments", data={"file": (io.BytesIO(tiny_png()), "a.png")}, headers=KEY,
                            content_type="multipart/form-data") for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json() == answers[1].get_json()
    assert count(app, Attachment) == 1


def test_a_retried_completion_returns_the_first_answer_instead_of_a_conflict(api):
    officer = api.as_("officer_a")
    hazard_id = officer.post("/hazards", json=REPORT).get_json()["id"]
    task = current_task(officer, hazard_id, "assess")
    data = {"data": {"grade": "general", "responsible_person": "张安全", "measures": "加锁",
                     "rectification_deadline": in_days(5)}}
    first = officer.post(f"/tasks/{task}/complete", json=data, headers=KEY)
    again = officer.post(f"/tasks/{task}/complete", json=data, headers=KEY)
    assert first.status_code == again.status_code == 200
    assert again.get_json()["id"] == task and again.get_json()["status"] == "completed"
    assert officer.post(f"/tasks/{task}/complete", json=data).status_code == 409  # without the key: done already


def test_a_key_used_for_another_operation_or_malformed_is_refused_naming_the_header(api):
    officer = api.as_("officer_a")
    assert officer.post("/hazards", json=REPORT, headers=KEY).status_code == 201
    resp = officer.post("/attachments?lang=en", data={"file": (io.BytesIO(tiny_png()), "a.png")}, headers=KEY,
                        content_type="multipart/form-data")
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["fields"]
    resp = officer.post("/hazards", json=REPORT, headers={"Idempotency-Key": "x" * 201})
    assert resp.status_code == 422 and "Idempotency-Key" in resp.get_json()["fields"]
    assert upload(officer)  # without a key nothing changes
