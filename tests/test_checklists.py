"""Scheduled checks (一企一标准、一岗一清单): a checklist's schedule opens check tasks for the post at the right time,
a failed item becomes a hazard report filled in from the item, and a check not done in time is recorded as missed."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.clock import clock
from app.extensions import db
from app.models import Attachment, AuditEvent, CheckResult, CheckStatus, CheckTask, Hazard, User
from app.services import attachments, checklists
from app.services.demo import tiny_png
from app.services.errors import Forbidden, NotFound, ValidationFailed
from tests.deadline_steps import Person, move_to, tick, told

CHINA = timezone(timedelta(hours=8))
DAILY = {"title": "冲压线班组日检", "post": "一车间班组长", "level": "team", "location": "一车间冲压线",
         "items": "防护罩完好\n急停按钮有效\n消防通道畅通"}


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def next_eight_am() -> datetime:
    """The next 08:00 China time: when a team's daily check is due."""
    now = clock.now().astimezone(CHINA)
    eight = now.replace(hour=8, minute=0, second=0, microsecond=0)
    return (eight if eight > now else eight + timedelta(days=1)).astimezone(UTC)


def make_checklist(app, who: str = "principal_a", **overrides) -> int:
    with app.test_request_context():
        checklist = checklists.create_checklist(user(who), dict(DAILY, **overrides))
        checklist_id = checklist.id
        db.session.remove()
    return checklist_id


def open_checks(app, who: str) -> list[CheckTask]:
    with app.app_context():
        found = checklists.my_checks(user(who))
        for check in found:
            db.session.expunge(check)
        db.session.remove()
    return found


def test_a_daily_checklist_opens_a_check_for_the_post_at_eight_and_tells_them(app):
    make_checklist(app)
    first = next_eight_am()
    move_to(first - timedelta(minutes=1))
    assert tick(app).get("checks_opened") == 0
    move_to(first + timedelta(minutes=1))
    assert tick(app)["checks_opened"] == 1
    [check] = open_checks(app, "officer_a")
    assert (check.scheduled_for, check.due_at) == (first, first + timedelta(days=1)), "open until the next run"
    assert open_checks(app, "officer_b") == [] and open_checks(app, "principal_a") == []
    assert [n["checklist"] for n in told(app, "officer_a", "check_due")] == ["冲压线班组日检"]
    assert tick(app).get("checks_opened") == 0, "a run opens one check, however often the scheduler ticks"
    move_to(first + timedelta(days=1, minutes=1))
    assert tick(app)["checks_opened"] == 1


def test_a_failed_item_becomes_a_hazard_report_filled_in_from_the_item(app):
    make_checklist(app)
    move_to(next_eight_am() + timedelta(minutes=1))
    tick(app)
    [check] = open_checks(app, "officer_a")
    with app.test_request_context():
        items = {i.text: i.id for i in db.session.get(CheckTask, check.id).checklist.items}
        results = {str(items["防护罩完好"]): {"ok": False, "note": "二号冲床防护罩脱落"},
                   str(items["急停按钮有效"]): {"ok": True}, str(items["消防通道畅通"]): {"ok": True}}
        done = checklists.submit_check(user("officer_a"), check.id, results)
        [failed] = [r for r in done.results if not r.ok]
        hazard = db.session.get(Hazard, failed.hazard_id)
        assert (hazard.title, hazard.location, hazard.source, hazard.enterprise_id) == (
            "二号冲床防护罩脱落", "一车间冲压线", "self_check", user("officer_a").organisation_id)
        assert "二号冲床防护罩脱落" in hazard.description and "一车间班组长" in hazard.description
        assert hazard.status == "assessing", "the hazard starts its lifecycle like any other report"
        assert done.status == CheckStatus.completed
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "check_completed"))
        db.session.remove()
    assert open_checks(app, "officer_a") == []


def test_a_failed_item_needs_a_description_and_every_item_an_answer(app):
    make_checklist(app)
    move_to(next_eight_am() + timedelta(minutes=1))
    tick(app)
    [check] = open_checks(app, "officer_a")
    with app.test_request_context():
        first = db.session.get(CheckTask, check.id).checklist.items[0]
        try:
            checklists.submit_check(user("officer_a"), check.id, {str(first.id): {"ok": False}})
        except ValidationFailed as exc:
            assert f"item_{first.id}" in exc.fields and len(exc.fields) == 3
        else:
            raise AssertionError("an incomplete check was accepted")
        assert db.session.get(CheckTask, check.id).status == CheckStatus.open
        db.session.remove()


def test_a_check_not_done_before_the_next_run_is_recorded_as_missed_and_the_principal_is_told(app):
    make_checklist(app)
    first = next_eight_am()
    move_to(first + timedelta(minutes=1))
    tick(app)
    move_to(first + timedelta(days=1, minutes=1))
    result = tick(app)
    assert result["checks_missed"] == 1 and result["checks_opened"] == 1
    assert [n["checklist"] for n in told(app, "principal_a", "check_missed")] == ["冲压线班组日检"]
    with app.app_context():
        missed = checklists.recent_checks(user("inspector"), status=CheckStatus.missed)
        assert [c.scheduled_for for c in missed] == [first], "the supervising inspector sees the missed check"
        assert checklists.recent_checks(user("inspector_west"), status=CheckStatus.missed) == []
        summary = checklists.list_checklists(user("principal_a"))[0]
        assert (summary.missed, summary.open) == (1, 1)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "check_missed")).all()
        assert len(events) == 1
        db.session.remove()


def test_after_a_scheduler_outage_the_missed_runs_are_recorded_and_only_the_latest_opens(app):
    make_checklist(app)
    first = next_eight_am()
    move_to(first + timedelta(days=4, minutes=1))  # runs on days 0..3 passed unseen, day 4 is current
    result = tick(app)
    assert (result["checks_opened"], result["checks_missed"]) == (1, 0)
    with app.app_context():
        runs = db.session.scalars(select(CheckTask).order_by(CheckTask.scheduled_for)).all()
        assert [c.status for c in runs] == [CheckStatus.missed] * 4 + [CheckStatus.open]
        assert [c.scheduled_for for c in runs] == [first + timedelta(days=d) for d in range(5)]
        db.session.remove()
    assert len(told(app, "principal_a", "check_missed")) == 1, "one message for the outage, not one per run"


def test_a_weekly_and_a_custom_rule_follow_china_time(app):
    checklist_id = make_checklist(app, level="custom", schedule="30 9 * * mon-fri", title="早班巡检")
    weekly_id = make_checklist(app, level="workshop", title="车间周检")
    with app.app_context():
        from app.models import Checklist

        custom = db.session.get(Checklist, checklist_id).next_due_at.astimezone(CHINA)
        weekly = db.session.get(Checklist, weekly_id).next_due_at.astimezone(CHINA)
        db.session.remove()
    assert (custom.hour, custom.minute) == (9, 30) and custom.weekday() < 5
    assert (weekly.hour, weekly.weekday()) == (8, 0)


def test_a_bad_rule_or_an_empty_checklist_is_refused_with_what_to_fix(app):
    with app.test_request_context():
        try:
            checklists.create_checklist(user("principal_a"), dict(DAILY, level="custom", schedule="every day",
                                                                  items=""))
        except ValidationFailed as exc:
            assert "五个" in exc.fields["schedule"] and "items" in exc.fields
        else:
            raise AssertionError("a bad checklist was saved")
        try:
            checklists.create_checklist(user("inspector"), DAILY)
        except Forbidden:
            pass
        else:
            raise AssertionError("an inspector wrote an enterprise's checklist")
        db.session.remove()


def test_another_enterprise_cannot_see_or_record_the_check(app):
    make_checklist(app)
    move_to(next_eight_am() + timedelta(minutes=1))
    tick(app)
    [check] = open_checks(app, "officer_a")
    with app.test_request_context():
        for outsider in ("officer_b", "inspector_west"):
            try:
                checklists.get_check(user(outsider), check.id)
            except NotFound:
                continue
            raise AssertionError(f"{outsider} saw the check")
        assert checklists.get_check(user("inspector"), check.id).id == check.id
        assert not checklists.can_do(user("principal_a"), checklists.get_check(user("principal_a"), check.id))
        db.session.remove()


def test_the_check_pages_create_a_checklist_and_record_a_check(app, client):
    principal = Person(client, "principal_a")
    principal.get("/checklists/new")
    saved = principal.post("/checklists/new", dict(DAILY, role="officer"))
    assert saved.status_code == 302
    assert "冲压线班组日检" in principal.get("/checklists").get_data(as_text=True)
    principal.post("/logout")
    move_to(next_eight_am() + timedelta(minutes=1))
    tick(app)
    officer = Person(client, "officer_a")
    listing = officer.get("/checks").get_data(as_text=True)
    check_id = int(listing.split('data-check="')[1].split('"')[0])
    page = officer.get(f"/checks/{check_id}").get_data(as_text=True)
    item_ids = [int(x.split('"')[0]) for x in page.split('data-item="')[1:]]
    answers = {f"item_{i}": "pass" for i in item_ids}
    answers[f"item_{item_ids[2]}"] = "fail"
    answers[f"note_{item_ids[2]}"] = "消防通道堆放纸箱"
    done = officer.post(f"/checks/{check_id}", answers)
    assert done.status_code == 302
    shown = officer.get(f"/checks/{check_id}").get_data(as_text=True)
    assert 'data-status="completed"' in shown and 'data-ok="false"' in shown and "/hazards/" in shown


def test_a_check_whose_third_failed_item_cannot_be_reported_leaves_nothing_of_the_submission(app):
    make_checklist(app, items="防护罩完好\n急停按钮有效\n消防通道畅通\n灭火器在有效期内")
    move_to(next_eight_am() + timedelta(minutes=1))
    tick(app)
    [check] = open_checks(app, "officer_a")
    with app.test_request_context():
        officer = user("officer_a")
        photo = attachments.upload(officer, io.BytesIO(tiny_png()), "photo.png").id
        hazards_before = db.session.scalar(select(func.count()).select_from(Hazard))
        events_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        items = db.session.get(CheckTask, check.id).checklist.items
        # Each report is valid on its own; the third uses the photo the first one has taken as its evidence.
        results = {str(items[0].id): {"ok": False, "note": "脱落", "photos": [photo]},
                   str(items[1].id): {"ok": False, "note": "失灵"},
                   str(items[2].id): {"ok": False, "note": "堵塞", "photos": [photo]},
                   str(items[3].id): {"ok": True}}
        with pytest.raises(ValidationFailed):
            checklists.submit_check(officer, check.id, results)
        db.session.remove()
        assert db.session.get(CheckTask, check.id).status == CheckStatus.open
        assert db.session.scalar(select(func.count()).select_from(CheckResult)) == 0
        assert db.session.scalar(select(func.count()).select_from(Hazard)) == hazards_before
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
        assert db.session.get(Attachment, photo).hazard_id is None
        db.session.remove()
