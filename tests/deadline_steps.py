"""Steps the deadline tests share: drive a hazard to a step with a deadline, move the clock, run the scheduler,
read what each person was told.

Time only moves through `app.clock.clock`; the scheduler runs as `services.timers.tick()` (what
`flask scheduler run` calls), so nothing sleeps.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import AuditEvent, Hazard, Notification, Timer, TimerKind, TimerStatus, User
from app.services.notifications import ARRIVALS
from tests.helpers import complete, current_task, hazard, in_days, report, upload, upload_pdf

CHINA = timezone(timedelta(hours=8))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def deadline_of(day: str) -> datetime:
    """A deadline date means the end of that day in China Standard Time."""
    return datetime.combine(date.fromisoformat(day), time(23, 59, 59), tzinfo=CHINA).astimezone(UTC)


def move_to(moment: datetime) -> None:
    """Set the clock to `moment` (never backwards by accident)."""
    clock.advance(seconds=(moment - clock.now()).total_seconds())


def tick(app) -> dict:
    """Run the scheduler until nothing is due; returns the totals."""
    from app.services import timers

    totals: dict[str, int] = {}
    with app.app_context():
        for _ in range(20):
            result = timers.tick()
            for name in ("fired", "alerts", "cancelled", "failed", "checks_opened", "checks_missed", "emails_sent"):
                totals[name] = totals.get(name, 0) + getattr(result, name)
            if not result:
                break
        db.session.remove()
    return totals


def told(app, username: str, kind: str | None = None) -> list[dict]:
    """What a user has been told about deadlines (or of `kind`), oldest first: [{kind, number, days, ...}].

    Arrivals of tasks (notifications.ARRIVALS) are left out unless asked for by kind."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        stmt = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        stmt = stmt.where(Notification.kind == kind) if kind else stmt.where(Notification.kind.not_in(ARRIVALS))
        rows = [dict(json.loads(n.params), kind=n.kind, link=n.link, id=n.id) for n in db.session.scalars(stmt)]
        db.session.remove()
    return rows


def audit_actions(app, hazard_id: int, action: str | None = None) -> list[dict]:
    with app.app_context():
        stmt = select(AuditEvent).where(AuditEvent.hazard_id == hazard_id).order_by(AuditEvent.seq)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        events = [dict(json.loads(e.data), action=e.action, task=e.task_spec) for e in db.session.scalars(stmt)]
        db.session.remove()
    return events


def alerts(app, hazard_id: int, status: TimerStatus | None = None) -> list[tuple[str, int, str]]:
    """The hazard's reminder/overdue/escalation rows as (kind, days from the deadline, audience)."""
    with app.app_context():
        stmt = select(Timer).where(Timer.hazard_id == hazard_id, Timer.kind != TimerKind.engine).order_by(Timer.id)
        if status:
            stmt = stmt.where(Timer.status == status)
        rows = [(t.kind.value, t.offset_days, t.audience) for t in db.session.scalars(stmt)]
        db.session.remove()
    return rows


def view(api, username: str, hazard_id: int) -> dict:
    """The hazard as a user sees it through the API now (tokens are renewed: the clock may have moved days)."""
    api.tokens.clear()
    return hazard(api.as_(username), hazard_id)


def read_hazard(app, hazard_id: int) -> Hazard:
    with app.app_context():
        hazard = db.session.get(Hazard, hazard_id)
        db.session.expunge(hazard)
        db.session.remove()
    return hazard


# ------------------------------------------------------------------------------------- lifecycle steps
def general_hazard_rectifying(api, deadline: str, **report_overrides) -> int:
    """A general hazard of enterprise A, assessed with `deadline` (YYYY-MM-DD), now being rectified."""
    officer = api.as_("officer_a")
    h = report(officer, **report_overrides)
    complete(officer, current_task(officer, h["id"], "assess"), {
        "grade": "general", "responsible_person": "张安全", "measures": "加锁并张贴警示标识",
        "rectification_deadline": deadline})
    return h["id"]


def rectify(api, hazard_id: int, name: str = "rectify") -> None:
    api.tokens.clear()
    officer = api.as_("officer_a")
    complete(officer, current_task(officer, hazard_id, name), {
        "measures_taken": "已加锁", "after_photos": [upload(officer)], "completed_on": in_days(0)})


def major_hazard_rectifying(api, *, plan_deadline: str, listed: bool, supervision_deadline: str | None = None,
                            plan: dict | None = None, tier: str | None = None) -> int:
    """A major hazard of enterprise A past planning, approval and the supervision decision (`plan`: the plan's
    fields besides the five required ones, or replacing them; `tier`: the supervision tier of a listed one)."""
    officer, principal, inspector = api.as_("officer_a"), api.as_("principal_a"), api.as_("inspector")
    h = report(officer, title="喷漆房通风失效")
    complete(officer, current_task(officer, h["id"], "assess"), {
        "grade": "major", "responsible_person": "李厂长", "major_criterion": "工贸重大隐患判定标准第十条"})
    complete(officer, current_task(officer, h["id"], "plan"), {
        "measures": "更换防爆风机", "funds": 180000, "rectification_deadline": plan_deadline,
        "responsible_person": "李厂长", "emergency_plan": "停产并设警戒区", **(plan or {})})
    complete(principal, current_task(principal, h["id"], "approve_report"), {
        "plan_decision": "approve", "report_current_state": "风机损坏", "report_harm": "可能爆炸",
        "reported_to_workers_congress": True})
    decision = {"plan_review": "accept", "listed": listed}
    if listed:
        decision.update(notice_number="示应急督〔2026〕12号", supervision_deadline=supervision_deadline)
        if tier:
            decision["supervision_tier"] = tier
    complete(inspector, current_task(inspector, h["id"], "supervision_decision"), decision)
    return h["id"]


def apply_for_acceptance(api, hazard_id: int) -> None:
    """Rectify a major hazard and apply for acceptance: the government's 10 days start now."""
    officer = api.as_("officer_a")
    rectify(api, hazard_id, "rectify_major")
    complete(officer, current_task(officer, hazard_id, "acceptance"), {
        "acceptance_by": "agency", "acceptance_opinion": "整改合格", "acceptance_report": [upload_pdf(officer)],
        "resume_application": True})


# ------------------------------------------------------------------------------------------ pages
class Person:
    """Someone using the site through the test client: logs in, reads pages, sends forms with the CSRF token."""

    def __init__(self, client, username: str):
        self.client = client
        self.token: str | None = None
        self.get("/login")
        resp = self.post("/login", {"username": username, "password": "hazardloop"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]

    def get(self, path: str, **kw):
        resp = self.client.get(path, **kw)
        found = CSRF.search(resp.get_data(as_text=True)) if resp.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)
        return resp

    def post(self, path: str, data: dict | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(path, data=data, **kw)
