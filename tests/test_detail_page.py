"""A hazard's page: asking for more time from it, a timeline in words, past submissions labelled as they
were filled in, and a header that renders without emoji fonts."""
from __future__ import annotations

import ast
import copy
import html as html_lib
import json
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, HumanTask, TaskStatus, User
from app.services import forms
from app.web.pages import timeline
from tests.deadline_steps import deadline_of, general_hazard_rectifying, move_to, tick
from tests.helpers import complete, current_task, in_days, report
from tests.test_pages import Pages, text

ROOT = Path(__file__).resolve().parent.parent
ASSESS = {"grade": "general", "responsible_person": "张安全", "measures": "加锁", "rectification_deadline": in_days(7)}


def as_(app, username: str) -> Pages:
    person = Pages(app.test_client())
    person.login(username)
    return person


def timeline_entries(html: str) -> list[tuple[str, str]]:
    """(action, visible text) of each timeline entry, newest first."""
    found = re.findall(r'<li class="hl-event[^"]*" data-action="([a-z_]+)">(.*?)</li>', html, re.DOTALL)
    return [(action, " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())) for action, body in found]


# ------------------------------------------------------------------------------ 1. asking for more time
def test_the_officer_asks_for_more_time_from_the_hazard_page_and_the_principal_finds_the_request_there(api, app):
    officer = as_(app, "officer_a")
    assessing = officer.report()
    assert 'id="request-extension"' not in text(officer.get(f"/hazards/{assessing}")), "no deadline is running yet"

    hazard_id = general_hazard_rectifying(api, in_days(5))
    page = text(officer.get(f"/hazards/{hazard_id}"))
    assert f'id="request-extension"\n     href="/hazards/{hazard_id}/extension"' in page and "申请延期" in page
    principal = as_(app, "principal_a")
    assert 'id="request-extension"' not in text(principal.get(f"/hazards/{hazard_id}")), "only officers ask"
    assert "Ask for more time" in text(officer.get(f"/hazards/{hazard_id}?lang=en"))

    officer.get(f"/hazards/{hazard_id}/extension")
    sent = officer.post(f"/hazards/{hazard_id}/extension", {"requested_deadline": in_days(12), "reason": "设备返厂"})
    assert sent.status_code == 302
    page = text(officer.get(f"/hazards/{hazard_id}?lang=zh"))
    assert 'id="request-extension"' not in page, "one request at a time"
    assert 'id="extension-pending"' in page and in_days(12) in page and 'id="decide-extension"' not in page

    page = text(principal.get(f"/hazards/{hazard_id}"))
    request_id = int(re.search(r'id="extension-pending" data-request="(\d+)"', page).group(1))
    assert f'id="decide-extension" href="/extensions/{request_id}"' in page and "设备返厂" in page
    inspector = as_(app, "inspector")
    page = text(inspector.get(f"/hazards/{hazard_id}"))
    assert 'id="extension-pending"' in page and 'id="decide-extension"' not in page, "the principal decides"

    principal.get(f"/extensions/{request_id}")
    assert principal.post(f"/extensions/{request_id}", {"decision": "approve", "note": ""}).status_code == 302
    assert 'id="extension-pending"' not in text(principal.get(f"/hazards/{hazard_id}"))
    page = text(officer.get(f"/hazards/{hazard_id}"))
    assert 'id="request-extension"' in page and in_days(12) in page
    assert f"已将期限延长至 {in_days(12)}" in dict(timeline_entries(page))["extension_approved"]


def test_another_enterprises_officer_gets_no_extension_action(api, app):
    hazard_id = general_hazard_rectifying(api, in_days(5))
    inspector = as_(app, "inspector")
    page = text(inspector.get(f"/hazards/{hazard_id}"))
    assert 'id="request-extension"' not in page and 'id="extension-pending"' not in page


# ------------------------------------------------------------------------------ 2. the timeline in words
def _recording(call: ast.AST) -> bool:
    """audit.record(...), or step.audit(...) (the unit of work's, which passes its action on)."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)):
        return False
    return (call.func.value.id, call.func.attr) in {("audit", "record"), ("step", "audit")}


def _recorded_actions() -> set[str]:
    """Every action name passed to audit.record(...) or step.audit(...) in app/services, read from the source."""
    actions: set[str] = set()
    for path in sorted((ROOT / "app" / "services").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        dicts = {t.id: node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name) and isinstance(node.value, ast.Dict)}
        for call in ast.walk(tree):
            if not _recording(call) or path.name == "unit_of_work.py":  # it passes the callers' action on
                continue
            arg = call.args[0]
            if isinstance(arg, ast.Subscript) and isinstance(arg.value, ast.Name) and arg.value.id in dicts:
                arg = ast.List(elts=dicts[arg.value.id].values)  # ALERT_ACTIONS[kind]: every value of the table
            names = [n.value for n in ast.walk(arg) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            assert names, f"{path.name}:{call.lineno}: write the action name as a string the timeline can look up"
            actions.update(names)
    return actions


def test_every_action_the_services_record_has_a_phrase_in_english_and_chinese(app):
    actions = _recorded_actions()
    assert {"hazard_reported", "task_completed", "deadline_reminder", "deadline_escalated", "check_missed"} <= actions
    missing = sorted(actions - set(timeline.PHRASES))
    assert not missing, f"add a phrase to app/web/pages/timeline.py PHRASES for {missing}"
    sample = {"deadline": "rectification", "deadline_at": "2026-11-30T15:59:59+00:00", "days": -3, "audience": "inspector",
              "to": "2026-12-20", "requested": "2026-12-20", "number": 2, "to_version": 2, "moved": [1, 2],
              "form": "assess", "title": "叉车日检", "post": "叉车司机", "scheduled_for": "2026-11-24T00:00:00+00:00",
              "attempts": 5}
    for action in sorted(actions):
        with app.test_request_context(headers={"Accept-Language": "en"}):
            english = timeline.summary(action, sample, "Rectify")
        with app.test_request_context(headers={"Accept-Language": "zh"}):
            chinese = timeline.summary(action, sample, "整改")
        assert "_" not in english and "%(" not in english, (action, english)
        assert english != chinese and re.search(r"[\u4e00-\u9fff]", chinese), f"{action}: {chinese!r} is not Chinese"


def test_reminders_overdue_and_escalation_read_as_sentences_on_the_timeline(api, app):
    day = in_days(5)
    hazard_id = general_hazard_rectifying(api, day)
    for moment in (deadline_of(day) - timedelta(days=3), deadline_of(day) + timedelta(minutes=1),
                   deadline_of(day) + timedelta(days=3, minutes=1)):
        move_to(moment)
        tick(app)
    officer = as_(app, "officer_a")
    entries = dict(timeline_entries(text(officer.get(f"/hazards/{hazard_id}"))))
    assert f"发送了提醒：整改期限（{day}）还有 3 天" in entries["deadline_reminder"]
    assert f"将隐患标记为逾期：已超过整改期限（{day}）" in entries["deadline_overdue"]
    assert "已逐级督促至监管人员：超过整改期限 3 天" in entries["deadline_escalated"]
    entries = dict(timeline_entries(text(officer.get(f"/hazards/{hazard_id}?lang=en"))))
    assert f"sent a reminder: the rectification deadline ({day}) is in 3 days" in entries["deadline_reminder"]
    assert "escalated to the supervising inspector: 3 days past the rectification deadline" in entries[
        "deadline_escalated"]
    assert all("_" not in words for words in entries.values())


# ------------------------------------------------------------------------- 3. labels of past submissions
def _relabel_measures(app, zh: str, en: str) -> None:
    with app.test_request_context():
        definition = copy.deepcopy(forms.get_form("assess").as_dict())
        field = next(f for f in definition["fields"] if f["name"] == "measures")
        field["label"] = {"zh": zh, "en": en}
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        forms.save_form(admin.id, "assess", definition, note="relabel")
        db.session.remove()


def test_a_past_submission_keeps_the_labels_of_the_form_version_it_was_filled_in(api, app):
    officer_api = api.as_("officer_a")
    before = report(officer_api)
    complete(officer_api, current_task(officer_api, before["id"], "assess"), ASSESS)
    _relabel_measures(app, "整改措施（含临时措施）", "Measures, interim ones included")
    after = report(officer_api)
    complete(officer_api, current_task(officer_api, after["id"], "assess"), ASSESS)

    officer = as_(app, "officer_a")
    old_page, new_page = text(officer.get(f"/hazards/{before['id']}")), text(officer.get(f"/hazards/{after['id']}"))
    assert "<dt>整改措施</dt>" in old_page and "整改措施（含临时措施）" not in old_page
    assert "<dt>整改措施（含临时措施）</dt>" in new_page
    assert "<dt>Rectification measures</dt>" in text(officer.get(f"/hazards/{before['id']}?lang=en"))


def test_older_events_without_a_recorded_version_are_matched_to_the_task_completed_at_that_step(app):
    def event(i: int, spec: str, **data) -> AuditEvent:
        return AuditEvent(id=i, action="task_completed", task_spec=spec, data=json.dumps(data))

    def task(i: int, spec: str, version: int, minute: int, status=TaskStatus.completed) -> HumanTask:
        from datetime import UTC, datetime
        return HumanTask(id=i, spec_name=spec, form_version_id=version, status=status,
                         completed_at=datetime(2026, 1, 1, 8, minute, tzinfo=UTC))

    tasks = [task(1, "review", 11, 5), task(2, "rectify", 20, 1), task(3, "rectify", 21, 3),
             task(4, "rectify", 99, 4, TaskStatus.cancelled), task(5, "rectify", 22, 6)]
    events = [event(100, "rectify"), event(101, "rectify"), event(102, "review"),
              event(103, "rectify", form_version_id=30), AuditEvent(id=104, action="timer_fired", data="{}")]
    assert timeline.versions_used(events, tasks) == {100: 20, 101: 21, 102: 11, 103: 30}


# ---------------------------------------------------------------------------------- 4. no emoji needed
def test_templates_use_no_characters_that_need_an_emoji_font_and_the_bell_is_an_icon_with_a_label(app):
    for path in sorted((ROOT / "app" / "templates").rglob("*.html")):
        odd = [c for c in path.read_text(encoding="utf-8") if ord(c) > 0xFFFF or 0x1F000 <= ord(c)
               or 0x2600 <= ord(c) <= 0x27BF or c == "\ufe0f"]
        assert not odd, f"{path.relative_to(ROOT)}: {odd} shows as a box without an emoji font; use an SVG icon"
    officer = as_(app, "officer_a")
    page = text(officer.get("/tasks"))
    bell = re.search(r'<button[^>]*id="hl-notifications".*?</button>', page, re.DOTALL).group(0)
    assert "<svg" in bell and 'aria-label="通知"' in bell


def test_every_hazard_status_has_a_label_and_a_colour():
    from app.models import HazardStatus
    from app.web.pages import view

    assert set(view.STATUSES) == set(HazardStatus) == set(view.STATUS_COLOURS)
    assert "waiting" not in view.STEP_STATUSES and "closed" not in view.STEP_STATUSES
