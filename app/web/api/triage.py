"""The bureau's side of public reports under /api/v1/public-reports: the unit's list, one report as its page shows
it to the unit (never the reporter), the audited reveal of the reporter, and the triage's steps — answer, reward
proposal, the bureau head's decision, and any step with a form of its own — through the pages' service functions
(services/public_reports.py, services/public_answers.py). For the unit's inspectors; anyone else gets 404."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask_babel import gettext as _

from app.models import PublicReport, User
from app.services import public_answers, public_reports
from app.services.capabilities import may_answer_public_reports
from app.services.errors import NotFound
from app.web.api import schemas as s
from app.web.api import triage_schemas as ts
from app.web.api.blueprint import bp
from app.web.api.routes import ID, Extended, caller, current_steps, errors


def _inspector() -> User:
    """The caller, if the unit's side is theirs (inspectors): anyone else finds nothing here."""
    user = caller()
    if not may_answer_public_reports(user):
        raise NotFound(_not_found())
    return user


def _not_found() -> str:
    return _("There is no public report here for you: public reports are answered by the inspectors of their unit.")


def _summary(report: PublicReport, due: dict[int, Any], late: set[int]) -> Extended:
    return Extended(report, enterprise_name=report.enterprise.name if report.enterprise_id else None,
                    answer_due=due.get(report.id), overdue=report.id in late,
                    has_reporter=public_reports.has_reporter(report))


def _detail(user: User, report: PublicReport) -> Extended:
    steps = public_answers.open_steps(report)
    late = public_reports.overdue_ids([report])
    current = [Extended(step, assignee_name=task.assignee.display_name if task.assignee else None,
                        action=public_answers.step_meaning(task) or "step")
               for step, task in zip(current_steps(user, steps), steps, strict=True)]
    return Extended(_summary(report, public_reports.answer_deadlines([report]), late),
                    photos=public_reports.report_photos(report), reward=public_answers.reward_of(report.id),
                    current_tasks=current)


@bp.route("/public-reports", methods=["GET"])
@bp.arguments(ts.PublicReportQuery, location="query")
@bp.response(200, ts.PublicReportPage)
@errors(401, 404)
@bp.doc(summary="The public reports the caller's unit (and the units below it) answers, newest first (inspectors)")
def list_public_reports(args: dict[str, Any]):
    user = _inspector()
    status = args.get("status")
    page = public_reports.unit_reports(user, args["page"], args["per_page"],
                                       status=public_reports.PublicReportStatus(status) if status else None,
                                       overdue=args.get("overdue"))
    late = public_reports.overdue_ids(page.items)
    due = public_reports.answer_deadlines(page.items)
    return replace(page, items=[_summary(r, due, late) for r in page.items])


@bp.route(f"/public-reports/<{ID}:report_id>", methods=["GET"])
@bp.response(200, ts.PublicReportDetail)
@errors(401, 404)
@bp.doc(summary="A public report as its page shows it to the unit: text, photos, answer, reward and the open "
                "steps with who may act — never the reporter's name or contact")
def get_public_report(report_id: int):
    user = _inspector()
    return _detail(user, public_reports.visible_report(user, report_id))


@bp.route(f"/public-reports/<{ID}:report_id>/reporter", methods=["POST"])
@bp.response(200, ts.Reporter)
@errors(401, 404)
@bp.doc(summary="The reporter's name and contact (confidential): each reading is recorded in the audit trail "
                "with the caller's name, like on the page")
def reveal_public_reporter(report_id: int):
    return public_reports.reveal_reporter(_inspector(), report_id)


@bp.route(f"/public-reports/<{ID}:report_id>/answer", methods=["POST"])
@bp.arguments(ts.Answer)
@bp.response(200, ts.PublicReportDetail)
@errors(400, 401, 403, 404, 409, 413)
@bp.doc(summary="Answer the report — accept (opens a hazard), merge, refer or reject — completing the triage's "
                "answer step")
def answer_public_report(body: dict[str, Any], report_id: int):
    user = _inspector()
    values = {k: v for k, v in body.items() if k != "decision"}
    report = public_answers.answer(user, report_id, body["decision"], values)
    return _detail(user, report)


@bp.route(f"/public-reports/<{ID}:report_id>/reward", methods=["POST"])
@bp.arguments(ts.RewardProposal)
@bp.response(200, ts.PublicReportDetail)
@errors(400, 401, 403, 404, 409, 413)
@bp.doc(summary="Propose a reward (amount in yuan, reason) for the bureau head to decide, or `reward: none`")
def propose_public_reward(body: dict[str, Any], report_id: int):
    user = _inspector()
    values = {**body, "amount": str(body["amount"]) if body.get("amount") is not None else None}
    public_answers.propose_reward(user, report_id, values)
    return _detail(user, public_reports.visible_report(user, report_id))


@bp.route(f"/public-reports/<{ID}:report_id>/reward/decision", methods=["POST"])
@bp.arguments(ts.RewardDecision)
@bp.response(200, ts.PublicReportDetail)
@errors(400, 401, 403, 404, 409, 413)
@bp.doc(summary="The head of the bureau approves or refuses the proposed reward (a note is required to refuse)")
def decide_public_reward(body: dict[str, Any], report_id: int):
    user = _inspector()
    public_answers.decide_reward(user, report_id, body["approve"], body.get("decision_note"))
    return _detail(user, public_reports.visible_report(user, report_id))


@bp.route(f"/public-reports/<{ID}:report_id>/steps/<{ID}:task_id>", methods=["POST"])
@bp.arguments(s.Completion)
@bp.response(200, ts.PublicReportDetail)
@errors(400, 401, 403, 404, 409, 413)
@bp.doc(summary="Do an open step of the triage that has a form of its own (e.g. a review added in the designer; "
                "`action` step in current_tasks), validated by its form")
def complete_public_report_step(body: dict[str, Any], report_id: int, task_id: int):
    user = _inspector()
    public_answers.complete_step(user, report_id, task_id, body["data"])
    return _detail(user, public_reports.visible_report(user, report_id))
