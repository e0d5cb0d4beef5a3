"""The public's pages (no account): report a hazard (举报) and follow it with the tracking code and PIN; and the
inspectors' list of the reports their unit answers, where reading a reporter's identity is audited."""
from __future__ import annotations

from io import BytesIO

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.clock import clock
from app.extensions import limiter
from app.services import exports, forms, public_answers, public_reports, triage_forms
from app.services.capabilities import may_answer_public_reports
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.web.inputs import int_arg
from app.web.pages import enterprises
from app.web.pages.enterprises import SEARCH_LIMIT, EnterprisePicker
from app.web.pages.formview import step_views, typed_values
from app.web.pages.view import task_title, text_in

bp = Blueprint("public", __name__)

STATUSES = {
    "received": _l("Received: waiting for the inspectors' answer"),
    "duplicate": _l("Already known: linked to an earlier report"),
    "accepted": _l("Accepted: a hazard record was opened"),
    "merged": _l("Merged with a hazard already on record"),
    "referred": _l("Referred to another authority"),
    "rejected": _l("Not followed up"),
}
HAZARD_STATES = {
    "in_progress": _l("being dealt with"),
    "fixed": _l("fixed"),
    "written_off": _l("fixed, verified and written off by the authorities"),
}


@bp.app_template_global()
def public_status_label(status) -> str:
    return str(STATUSES.get(getattr(status, "value", status), status))


@bp.app_template_global()
def public_hazard_label(state: str | None) -> str:
    return str(HAZARD_STATES.get(state or "", ""))

FIELDS = ("description", "enterprise_id", "address", "region_id", "seen_on", "name", "contact")


def report_limit() -> str:
    return current_app.config["PUBLIC_REPORT_LIMIT"]


def lookup_limit() -> str:
    return current_app.config["PUBLIC_LOOKUP_LIMIT"]


def _render_form(values: dict, errors: dict[str, str], status: int = 200):
    enterprise = public_reports.active_enterprise(values.get("enterprise_id")
                                                  if isinstance(values.get("enterprise_id"), int) else None)
    picker = EnterprisePicker(None, chosen=enterprise,
                              typed=enterprise.name if enterprise else (values.get("enterprise_name") or ""))
    return render_template("public/report.html", values=values, errors=errors, picker=picker,
                           regions=public_reports.regions(), challenge=public_reports.new_challenge(),
                           max_photos=current_app.config["PUBLIC_PHOTOS_MAX"]), status


@bp.get("/public/report")
def report_form():
    return _render_form({}, {})


@bp.post("/public/report")
@limiter.shared_limit(report_limit, scope="public-report")
def report():
    values = {name: request.form.get(name) for name in FIELDS}
    values[public_reports.CHALLENGE_FIELD] = request.form.get(public_reports.CHALLENGE_FIELD)
    values["enterprise_id"] = int_arg("enterprise_id", request.form)
    values["enterprise_name"] = (request.form.get("enterprise_name") or "").strip()
    if values["enterprise_id"] is None and values["enterprise_name"]:
        found = public_reports.search_enterprises(values["enterprise_name"], limit=2)
        if len(found) == 1:
            values["enterprise_id"] = found[0].id
    photos = [public_reports.Photo(f.stream, f.filename or "photo") for f in request.files.getlist("photos")
              if f and f.filename]
    try:
        receipt = public_reports.submit(values, photos)
    except ValidationFailed as exc:
        return _render_form(values, exc.fields or {"_form": exc.message}, 422)
    return render_template("public/receipt.html", receipt=receipt), 201


@bp.get("/public/enterprises/search")
@limiter.limit(lambda: current_app.config["PUBLIC_SEARCH_LIMIT"])
def search_enterprises():
    """Active enterprises by name, for the public form's type-ahead (answers like /enterprises/search)."""
    rows = public_reports.search_enterprises(request.args.get("q") or "", limit=SEARCH_LIMIT + 1)
    return jsonify({"items": [{"id": e.id, "name": e.name, "address": e.address} for e in rows[:SEARCH_LIMIT]],
                    "more": len(rows) > SEARCH_LIMIT})


@bp.get("/public/status")
def status_form():
    return render_template("public/status.html", found=None, error=None, code="")


@bp.post("/public/status")
@limiter.shared_limit(lookup_limit, scope="public-lookup")
def status():
    code = (request.form.get("tracking_code") or "")[:40]
    try:
        found = public_reports.public_status(code, (request.form.get("pin") or "")[:20])
    except NotFound as exc:
        return render_template("public/status.html", found=None, error=exc.message, code=code), 404
    return render_template("public/status.html", found=found, error=None, code=found.tracking_code)


# ------------------------------------------------------------------------------------------------ the unit's side
@bp.get("/public-reports")
@login_required
def unit_list():
    if not may_answer_public_reports(current_user):
        raise Forbidden(_("Reports from the public are answered by the inspectors of the unit they concern."))
    page = public_reports.unit_reports(current_user, max(int_arg("page") or 1, 1))
    return render_template("public/unit_list.html", page=page, deadlines=public_reports.answer_deadlines(page.items),
                           now=clock.now())


def _detail(report_id: int, reporter=None, errors: dict[str, str] | None = None, values: dict | None = None,
            status: int = 200, step_id: int | None = None, refused: str | None = None):
    report = public_reports.visible_report(current_user, report_id)
    steps = step_views(current_user, public_answers.open_steps(report), step_id, values, errors, refused,
                       known=public_answers.step_meaning)
    known = {v.known: v for v in steps if v.known is not None}
    hazard_types = [(c["value"], text_in(c["label"], c["value"]))
                    for c in forms.get_form("report").field("hazard_type").get("choices", [])]
    picker = None if report.enterprise_id else enterprises.picker(current_user, (values or {}).get("enterprise_id"),
                                                                  None)[0]
    return render_template("public/unit_detail.html", report=report, photos=public_reports.report_photos(report),
                           has_reporter=public_reports.has_reporter(report), reporter=reporter,
                           errors=errors or {}, values=values or {}, hazard_types=hazard_types, picker=picker,
                           units=public_answers.government_units(), reward=public_answers.reward_of(report.id),
                           may_decide=public_answers.may_decide_rewards(current_user),
                           steps=steps, back=url_for("public.unit_detail", report_id=report.id),
                           open=_may(known, triage_forms.ANSWER),
                           propose_open=_may(known, triage_forms.PROPOSE),
                           decide_open=_may(known, triage_forms.DECIDE)), status


def _may(known: dict, meaning: str) -> bool:
    """Whether the known step with this meaning is open and the user's to do now (not claimed by a colleague)."""
    return meaning in known and known[meaning].actionable


@bp.get("/public-reports/<int(max=2147483647):report_id>")
@login_required
def unit_detail(report_id: int):
    return _detail(report_id)


@bp.post("/public-reports/<int(max=2147483647):report_id>/reporter")
@login_required
def reveal_reporter(report_id: int):
    return _detail(report_id, public_reports.reveal_reporter(current_user, report_id))


def _act(report_id: int, run, done: str, values: dict, errors: dict[str, str] | None = None):
    """Run one of the unit's actions on a report; back to its page with the outcome, or the form again with the
    fields to fix."""
    try:
        run()
    except ValidationFailed as exc:
        return _detail(report_id, errors={**exc.fields, **(errors or {})}, values=values, status=422)
    except Conflict as exc:
        flash(exc.message, "warning")
    else:
        flash(done, "success")
    return redirect(url_for("public.unit_detail", report_id=report_id))


@bp.post("/public-reports/<int(max=2147483647):report_id>/steps/<int(max=2147483647):task_id>")
@login_required
def complete_step(report_id: int, task_id: int):
    """An open step of the triage with a form of its own (e.g. a review added in the designer): the generic form,
    validated and completed like any task's (public_answers.complete_step)."""
    report = public_reports.visible_report(current_user, report_id)
    task = next((t for t in public_answers.open_steps(report) if t.id == task_id), None)
    if task is None:
        flash(_("This step is no longer open; nothing was changed."), "warning")
        return redirect(url_for("public.unit_detail", report_id=report_id))
    form = forms.task_form(task)
    values = typed_values(form)
    try:
        public_answers.complete_step(current_user, report_id, task_id, values)
    except ValidationFailed as exc:
        return _detail(report_id, errors=exc.fields or {"_form": exc.message}, values=exc.values or values,
                       status=422, step_id=task_id)
    except (Conflict, Forbidden) as exc:
        return _detail(report_id, values=values, status=exc.status, step_id=task_id, refused=exc.message)
    flash(_("Done: %(step)s.", step=task_title(task)), "success")
    return redirect(url_for("public.unit_detail", report_id=report_id))


@bp.post("/public-reports/<int(max=2147483647):report_id>/answer")
@login_required
def answer(report_id: int):
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if "enterprise_id" in values:
        values["enterprise_id"] = int_arg("enterprise_id", request.form)
    decision = request.form.get("decision", "")
    return _act(report_id, lambda: public_answers.answer(current_user, report_id, decision, values),
                _("The answer was recorded; the reporter sees it with the tracking code and PIN."), values,
                {"_decision": decision})


@bp.post("/public-reports/<int(max=2147483647):report_id>/reward")
@login_required
def propose_reward(report_id: int):
    values = {"amount": request.form.get("amount"), "reason": request.form.get("reason"),
              "reward": "none" if request.form.get("reward") == "none" else "propose"}
    done = _("The reward was proposed; the head of the bureau decides.") if values["reward"] == "propose" \
        else _("Recorded: no reward for this report.")
    return _act(report_id, lambda: public_answers.propose_reward(current_user, report_id, values), done, values)


@bp.post("/public-reports/<int(max=2147483647):report_id>/reward/decision")
@login_required
def decide_reward(report_id: int):
    note = request.form.get("decision_note")
    approve = request.form.get("approve") == "1"
    return _act(report_id, lambda: public_answers.decide_reward(current_user, report_id, approve, note),
                _("The decision on the reward was recorded."), {"decision_note": note})


REWARD_STATUSES = {"proposed": _l("Proposed"), "approved": _l("Approved"), "refused": _l("Refused")}


@bp.app_template_global()
def reward_status_label(status) -> str:
    return str(REWARD_STATUSES.get(getattr(status, "value", status), status))


@bp.get("/public-rewards")
@login_required
def ledger():
    return render_template("public/ledger.html", rewards=public_answers.ledger(current_user))


@bp.get("/public-rewards.xlsx")
@login_required
def ledger_xlsx():
    data = public_answers.ledger_workbook(current_user, {k: str(v) for k, v in REWARD_STATUSES.items()})
    return send_file(BytesIO(data), as_attachment=True, download_name="public-rewards.xlsx", mimetype=exports.XLSX)
