"""A major hazard found by an inspector, taken through the JSON API up to the step whose document a test prints."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.helpers import complete, current_task, in_days, report, upload, upload_pdf

NOTICE = "示应急督〔2026〕12号"
ENTERPRISE = "宏达机械制造有限公司"
STAGES = ("reported", "listed", "accepted", "written_off")


def enterprise_of(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.organisation_id).where(User.username == username))


def major_hazard(api, app, until: str) -> int:
    """Report (by the inspector, at enterprise A) and go on to `until`, one of STAGES; returns the hazard's id."""
    stop = STAGES.index(until)
    officer, principal, inspector = api.as_("officer_a"), api.as_("principal_a"), api.as_("inspector")
    h = report(inspector, title="喷漆房通风失效", source="government_inspection",
               enterprise_id=enterprise_of(app, "officer_a"))["id"]
    if stop < 1:
        return h
    complete(officer, current_task(officer, h, "assess"), {
        "grade": "major", "responsible_person": "李厂长", "major_criterion": "工贸重大隐患判定标准第十条"})
    complete(officer, current_task(officer, h, "plan"), {
        "measures": "更换防爆风机", "funds": 180000, "rectification_deadline": in_days(30),
        "responsible_person": "李厂长", "emergency_plan": "停产并设警戒区"})
    complete(principal, current_task(principal, h, "approve_report"), {
        "plan_decision": "approve", "report_current_state": "风机损坏", "report_harm": "可能爆炸",
        "reported_to_workers_congress": True})
    complete(inspector, current_task(inspector, h, "supervision_decision"), {
        "listed": True, "plan_review": "accept", "notice_number": NOTICE, "supervision_deadline": in_days(45),
        "supervision_tier": "district", "review_opinion": "限期治理"})
    if stop < 2:
        return h
    complete(officer, current_task(officer, h, "rectify_major"), {
        "measures_taken": "已更换防爆风机", "after_photos": [upload(officer)], "completed_on": in_days(0),
        "funds_spent": 175000})
    complete(officer, current_task(officer, h, "acceptance"), {
        "acceptance_by": "agency", "acceptance_opinion": "整改合格，同意验收", "resume_application": True,
        "acceptance_report": [upload_pdf(officer)]})
    if stop < 3:
        return h
    complete(inspector, current_task(inspector, h, "verification"), {
        "verification_result": "pass", "verification_opinion": "现场核查合格", "verified_on": in_days(0)})
    complete(inspector, current_task(inspector, h, "write_off"), {"write_off_document": "销号〔2026〕3号"})
    return h
