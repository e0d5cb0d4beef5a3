"""Printable documents of a hazard's lifecycle: 整改通知书, 挂牌督办通知书, 验收申请, 核销记录.

Each kind is filled from the process data of the steps it records (the task submissions in the hazard's audit
trail) and becomes available once its step has happened. Its template is the shipped file
app/document_templates/<kind>.html unless an administrator saved a version of their own (table
document_template, every save and restore audited).

Templates are untrusted: they run in Jinja2's ImmutableSandboxedEnvironment with autoescape, see only plain
dicts of strings (never a model object, which would lead to other rows), are rendered in a forked child with
CPU, memory, time and output bounds, and their HTML is cleaned by nh3 (an allow-list of document tags) before it
reaches a page or the PDF. The PDF (WeasyPrint) fetches nothing but data: URLs.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import resource
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import nh3
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.chinatime import china_date, parse_date, today
from app.clock import clock
from app.extensions import db
from app.models import Attachment, AuditEvent, DocumentTemplate, Hazard, Organisation, User
from app.services import audit, forms
from app.services.access import visible_hazard
from app.services.capabilities import may_administer
from app.services.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "document_templates"
MAX_TEMPLATE_CHARS = 50_000
MAX_OUTPUT_CHARS = 500_000
RENDER_SECONDS = 3
RENDER_MEMORY = 256 * 1024 * 1024  # bytes a render may add to the process it was forked from


@dataclass(frozen=True)
class Kind:
    key: str
    title: str   # the document's own (Chinese) title, as printed
    label: Any   # the name in the user's language


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("rectification_notice", "事故隐患整改通知书", _l("Rectification notice")),
    Kind("supervision_notice", "重大事故隐患挂牌督办通知书", _l("Listed-supervision notice")),
    Kind("acceptance_application", "重大事故隐患治理验收申请", _l("Acceptance application")),
    Kind("write_off_record", "重大事故隐患核销记录", _l("Write-off record")),
)}


class DocumentUnavailable(ServiceError):
    """An edited template failed on this hazard's data: the document cannot be produced until it is corrected."""

    status = 503


# ------------------------------------------------------------------------------------------ process data
@dataclass
class Step:
    data: dict[str, Any]
    by: str
    on: date | None
    seq: int = 0


def _steps(hazard_id: int) -> dict[str, Step]:
    """The latest submission of each form in the hazard's trail (the report under "report")."""
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.data, AuditEvent.created_at, User.display_name, AuditEvent.seq)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.chain == audit.hazard_chain(hazard_id),
               AuditEvent.action.in_(("hazard_reported", "task_completed")))
        .order_by(AuditEvent.seq))
    steps: dict[str, Step] = {}
    for action, raw, created_at, name, seq in rows:
        payload = json.loads(raw)
        key, data = ("report", payload) if action == "hazard_reported" else (payload.get("form"), payload.get("data"))
        if isinstance(key, str) and isinstance(data, dict):
            steps[key] = Step(data, name or "", china_date(created_at), seq)
    return steps


def _available(hazard: Hazard, steps: dict[str, Step]) -> list[str]:
    kinds = []
    if hazard.source == "government_inspection":
        kinds.append("rectification_notice")
    if "supervision_decision" in steps and steps["supervision_decision"].data.get("listed") is True:
        kinds.append("supervision_notice")
    if "acceptance" in steps:
        kinds.append("acceptance_application")
    if "write_off" in steps:
        kinds.append("write_off_record")
    return kinds


def available(hazard: Hazard) -> list[Kind]:
    """The documents this hazard has reached (the caller has checked that the user may see it)."""
    return [KINDS[k] for k in _available(hazard, _steps(hazard.id))]


# ------------------------------------------------------------------------------------------ context
def _cn_date(value: Any) -> str:
    day = value if isinstance(value, date) else parse_date(value)
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _money(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{value:,.2f} 元"


def _choice(form_key: str, field: str, value: Any) -> str:
    """The Chinese label of a choice (documents are printed in Chinese whatever the page's language)."""
    if value in (None, ""):
        return ""
    try:
        spec = forms.get_form(form_key).field(field) or {}
    except NotFound:
        return str(value)
    for choice in spec.get("choices") or []:
        if choice.get("value") == value:
            return (choice.get("label") or {}).get("zh") or str(value)
    return str(value)


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _file_names(ids: Any) -> list[str]:
    if not isinstance(ids, list):
        return []
    wanted = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    names = dict(db.session.execute(select(Attachment.id, Attachment.original_name)
                                    .where(Attachment.id.in_(wanted))).all()) if wanted else {}
    return [names[i] for i in wanted if i in names]


def hazard_url(hazard_id: int) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/hazards/{hazard_id}"


def _context(hazard: Hazard, steps: dict[str, Step]) -> dict[str, Any]:
    """What a template sees: plain dicts of strings (and lists of strings), every key always present."""
    empty = Step({}, "", None)
    get = steps.get
    report, assess, plan = get("report", empty), get("assess", empty), get("plan", empty)
    approval, listing = get("approve_report", empty), get("supervision_decision", empty)
    rectified = max((get("rectify", empty), get("rectify_major", empty)), key=lambda step: step.seq)
    acceptance, verification, write_off = get("acceptance", empty), get("verification", empty), get("write_off", empty)
    enterprise = hazard.enterprise
    unit = db.session.get(Organisation, hazard.supervising_unit_id) if hazard.supervising_unit_id else None
    # The plan's deadline and responsible person when there is a plan, else the assessment's (a general hazard).
    deadline = plan.data.get("rectification_deadline") or assess.data.get("rectification_deadline")
    return {
        "today": _cn_date(today()),
        "hazard": {
            "number": hazard.number, "title": hazard.title, "description": hazard.description,
            "location": hazard.location, "type": _choice("report", "hazard_type", hazard.hazard_type),
            "source": _choice("report", "source", hazard.source), "grade": _choice("assess", "grade", hazard.grade),
            "reported_on": _cn_date(china_date(hazard.created_at)), "reported_by": report.by,
            "url": hazard_url(hazard.id)},
        "enterprise": {"name": enterprise.name, "address": enterprise.address or "",
                       "credit_code": enterprise.credit_code or ""},
        "unit": {"name": unit.name if unit else ""},
        "assessment": {
            "grade": _choice("assess", "grade", assess.data.get("grade")),
            "accident_type": _choice("assess", "accident_type", assess.data.get("accident_type")),
            "responsible_person": _text(assess.data, "responsible_person"), "measures": _text(assess.data, "measures"),
            "deadline": _cn_date(assess.data.get("rectification_deadline")),
            "major_criterion": _text(assess.data, "major_criterion"), "by": assess.by, "on": _cn_date(assess.on)},
        "rectification_deadline": _cn_date(deadline),
        "responsible_person": _text(plan.data, "responsible_person") or _text(assess.data, "responsible_person"),
        "plan": {
            "goal": _text(plan.data, "goal"), "measures": _text(plan.data, "measures"),
            "funds": _money(plan.data.get("funds")), "responsible_person": _text(plan.data, "responsible_person"),
            "deadline": _cn_date(plan.data.get("rectification_deadline")),
            "safety_measures": _text(plan.data, "safety_measures"),
            "emergency_plan": _text(plan.data, "emergency_plan"),
            "interim_measures": _text(plan.data, "interim_measures"), "by": plan.by, "on": _cn_date(plan.on)},
        "report": {"current_state": _text(approval.data, "report_current_state"),
                   "harm": _text(approval.data, "report_harm"), "approved_by": approval.by,
                   "on": _cn_date(approval.on)},
        "listing": {
            "notice_number": _text(listing.data, "notice_number") or (hazard.notice_number or ""),
            "deadline": _cn_date(listing.data.get("supervision_deadline") or hazard.supervision_deadline),
            "tier": _choice("supervision_decision", "supervision_tier", listing.data.get("supervision_tier")),
            "opinion": _text(listing.data, "review_opinion"), "by": listing.by, "on": _cn_date(listing.on)},
        "rectification": {
            "measures_taken": _text(rectified.data, "measures_taken"),
            "completed_on": _cn_date(rectified.data.get("completed_on")),
            "funds_spent": _money(rectified.data.get("funds_spent")), "by": rectified.by,
            "on": _cn_date(rectified.on)},
        "acceptance": {
            "assessed_by": _choice("acceptance", "acceptance_by", acceptance.data.get("acceptance_by")),
            "opinion": _text(acceptance.data, "acceptance_opinion"),
            "reports": _file_names(acceptance.data.get("acceptance_report")),
            "resume_application": acceptance.data.get("resume_application") is True,
            "by": acceptance.by, "on": _cn_date(acceptance.on)},
        "verification": {
            "result": _choice("verification", "verification_result", verification.data.get("verification_result")),
            "opinion": _text(verification.data, "verification_opinion"),
            "verified_on": _cn_date(verification.data.get("verified_on")), "by": verification.by,
            "on": _cn_date(verification.on)},
        "write_off": {"document": _text(write_off.data, "write_off_document"),
                      "note": _text(write_off.data, "write_off_note"), "by": write_off.by,
                      "on": _cn_date(write_off.on)},
    }


def sample_context() -> dict[str, Any]:
    """A complete context with every value filled: edited templates are checked against it before they are saved."""
    def filled(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: filled(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list):
            return ["验收评估报告.pdf"]
        if isinstance(value, bool):
            return True
        return f"〔{path}〕"
    return filled(_SAMPLE_SHAPE, "")


_SAMPLE_SHAPE: dict[str, Any] = {
    "today": "", "rectification_deadline": "", "responsible_person": "",
    "hazard": dict.fromkeys(("number", "title", "description", "location", "type", "source", "grade", "reported_on",
                             "reported_by", "url"), ""),
    "enterprise": dict.fromkeys(("name", "address", "credit_code"), ""),
    "unit": {"name": ""},
    "assessment": dict.fromkeys(("grade", "accident_type", "responsible_person", "measures", "deadline",
                                 "major_criterion", "by", "on"), ""),
    "plan": dict.fromkeys(("goal", "measures", "funds", "responsible_person", "deadline", "safety_measures",
                           "emergency_plan", "interim_measures", "by", "on"), ""),
    "report": dict.fromkeys(("current_state", "harm", "approved_by", "on"), ""),
    "listing": dict.fromkeys(("notice_number", "deadline", "tier", "opinion", "by", "on"), ""),
    "rectification": dict.fromkeys(("measures_taken", "completed_on", "funds_spent", "by", "on"), ""),
    "acceptance": {**dict.fromkeys(("assessed_by", "opinion", "by", "on"), ""), "reports": [],
                   "resume_application": False},
    "verification": dict.fromkeys(("result", "opinion", "verified_on", "by", "on"), ""),
    "write_off": dict.fromkeys(("document", "note", "by", "on"), ""),
}


# ------------------------------------------------------------------------------------------ the sandbox
def _environment(undefined: type[Undefined]) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=True, undefined=undefined)
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    return env


_LENIENT = _environment(Undefined)        # a real hazard: a step's missing value prints as nothing
_STRICT = _environment(StrictUndefined)   # the check on save: a name documents do not have is an error

# An allow-list of what a printed document is made of; no script, form, frame, link to elsewhere or style sheet.
_TAGS = {"h1", "h2", "h3", "h4", "p", "div", "span", "section", "header", "footer", "br", "hr", "strong", "b", "em",
         "i", "u", "small", "sup", "sub", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot",
         "tr", "th", "td", "caption", "colgroup", "col", "blockquote", "img"}
_ATTRIBUTES = {"*": {"class", "style", "lang"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"},
               "col": {"span"}, "img": {"src", "alt", "width", "height"}}
# Style attributes may set the type and the box, never position or anything that loads (url(): no property here).
_STYLES = {"color", "background-color", "font-size", "font-weight", "font-style", "font-family", "text-align",
           "text-indent", "text-decoration", "letter-spacing", "line-height", "vertical-align", "white-space",
           "width", "min-width", "max-width", "height", "margin", "margin-top", "margin-bottom", "margin-left",
           "margin-right", "padding", "padding-top", "padding-bottom", "padding-left", "padding-right", "border",
           "border-top", "border-bottom", "border-left", "border-right", "border-collapse", "page-break-before",
           "page-break-after", "page-break-inside", "break-before", "break-after", "break-inside"}


def clean_html(html: str) -> Markup:
    """The rendered template's HTML reduced to document markup (images only as data: URLs)."""
    return Markup(nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"data"}, link_rel=None,
                            filter_style_properties=_STYLES))


class TemplateRefused(Exception):
    """Why a template cannot be used, in the user's language."""


def _compile(source: str, env: ImmutableSandboxedEnvironment) -> Template:
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(_("Line %(line)d of the template is not valid: %(message)s.",
                                line=exc.lineno or 0, message=(exc.message or "").rstrip("."))) from None
    # The sandbox refuses these at run time; saying so at once also covers branches a sample does not take.
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateRefused(_("Line %(line)d of the template reads %(name)s: names starting with _ are not "
                                    "allowed in documents.", line=node.lineno, name=name))
    return env.from_string(tree)


def _render_child(template: Template, context: dict[str, Any], writer) -> None:
    """In the forked child: bounded CPU and memory, output cut at MAX_OUTPUT_CHARS; sends (ok, text)."""
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (RENDER_SECONDS, RENDER_SECONDS + 1))
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (size + RENDER_MEMORY, size + RENDER_MEMORY))
        out, length = [], 0
        for chunk in template.generate(context):
            length += len(chunk)
            if length > MAX_OUTPUT_CHARS:
                writer.send((False, "too_long", ""))
                break
            out.append(chunk)
        else:
            writer.send((True, "", "".join(out)))
    except MemoryError:
        writer.send((False, "memory", ""))
    except Exception as exc:  # noqa: BLE001 — any failure of the template is reported, not raised
        writer.send((False, type(exc).__name__, str(exc)[:300]))
    finally:
        writer.close()
        os._exit(0)  # no atexit handlers, no pool finalizers: the parent's connections stay the parent's


def _render(template: Template, context: dict[str, Any]) -> str:
    fork = multiprocessing.get_context("fork")
    reader, writer = fork.Pipe(duplex=False)
    child = fork.Process(target=_render_child, args=(template, context, writer), daemon=True)
    child.start()
    writer.close()
    try:
        if not reader.poll(RENDER_SECONDS + 1):
            raise TemplateRefused(_("Filling the template took longer than %(n)d seconds.", n=RENDER_SECONDS))
        ok, problem, text = reader.recv()
    except EOFError:
        raise TemplateRefused(_("Filling the template needed too much time or memory.")) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        reader.close()
    if ok:
        return text
    if problem == "too_long":
        raise TemplateRefused(_("The template produces more than %(n)d characters.", n=MAX_OUTPUT_CHARS))
    if problem == "memory":
        raise TemplateRefused(_("Filling the template needed too much memory."))
    if problem == "SecurityError":
        raise TemplateRefused(_("The template uses something documents may not use: %(detail)s", detail=text))
    if problem == "UndefinedError":
        raise TemplateRefused(_("The template names something documents do not have: %(detail)s", detail=text))
    raise TemplateRefused(_("The template failed when it was filled: %(detail)s", detail=f"{problem}: {text}"))


def check_template(source: str) -> Markup:
    """The template filled with the sample context; TemplateRefused says what is wrong."""
    return clean_html(_render(_compile(source, _STRICT), sample_context()))


# ------------------------------------------------------------------------------------------ templates
def default_source(kind: str) -> str:
    return (TEMPLATES_DIR / f"{kind}.html").read_text(encoding="utf-8")


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise NotFound(_("There is no document named %(kind)s.", kind=kind[:50]))
    return KINDS[kind]


def latest_version(kind: str) -> DocumentTemplate | None:
    return db.session.scalar(select(DocumentTemplate).where(DocumentTemplate.kind == kind)
                             .order_by(DocumentTemplate.number.desc()).limit(1))


def current_source(kind: str) -> str:
    """The template in force: the administrator's latest version, or the shipped default."""
    row = latest_version(kind)
    return row.body if row is not None and row.body is not None else default_source(kind)


def template_versions(kind: str, limit: int = 20) -> list[DocumentTemplate]:
    _kind(kind)
    return list(db.session.scalars(select(DocumentTemplate).where(DocumentTemplate.kind == kind)
                                   .order_by(DocumentTemplate.number.desc()).limit(limit)))


def _require_admin(user: User) -> None:
    if not may_administer(user):
        raise Forbidden(_("Only administrators can edit document templates."))


def _checked_source(source: Any) -> str:
    if not isinstance(source, str) or not source.strip():
        raise ValidationFailed(_("The template cannot be saved."),
                               fields={"body": _("The template is empty: write the document or restore the "
                                                 "default.")})
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ValidationFailed(_("The template cannot be saved."),
                               fields={"body": _("The template is longer than %(n)d characters; shorten it.",
                                                 n=MAX_TEMPLATE_CHARS)})
    try:
        check_template(source)
    except TemplateRefused as exc:
        raise ValidationFailed(_("The template cannot be saved."), fields={"body": str(exc)}) from None
    return source


def _add_version(user: User, kind: str, body: str | None, note: str | None) -> DocumentTemplate:
    """Insert the kind's next version in the caller's transaction (Conflict when a concurrent save took its number)."""
    number = (db.session.scalar(select(func.max(DocumentTemplate.number))
                                .where(DocumentTemplate.kind == kind)) or 0) + 1
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest() if body is not None else None
    row = DocumentTemplate(kind=kind, number=number, body=body, sha256=digest, created_by_id=user.id,
                           created_at=clock.now(), note=(note or "").strip()[:500] or None)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("Someone else saved this template at the same moment; reload it and try again.")) from None
    return row


def save_template(user: User, kind: str, source: Any, note: str | None = None) -> DocumentTemplate:
    """Store an edited template as the kind's new version once it fills the sample without error."""
    _require_admin(user)
    _kind(kind)
    source = _checked_source(source)
    latest = latest_version(kind)
    if latest is not None and latest.body == source:
        return latest
    row = _add_version(user, kind, source, note)
    audit.record("document_template_saved", actor_id=user.id,
                 data={"kind": kind, "number": row.number, "sha256": row.sha256})
    db.session.commit()
    return row


def restore_default(user: User, kind: str) -> DocumentTemplate:
    """Put the shipped default back in force (a new version, so the history keeps what was replaced)."""
    _require_admin(user)
    _kind(kind)
    row = _add_version(user, kind, None, None)
    audit.record("document_template_restored", actor_id=user.id, data={"kind": kind, "number": row.number})
    db.session.commit()
    return row


def preview(user: User, kind: str, source: Any, hazard_number: str | None) -> Markup:
    """An unsaved template filled with a real hazard (by number) or, without one, the sample."""
    _require_admin(user)
    _kind(kind)
    source = _checked_source(source)
    if not hazard_number:
        return check_template(source)
    hazard = db.session.scalar(select(Hazard).where(Hazard.number == hazard_number.strip()[:30]))
    if hazard is None:
        raise ValidationFailed(_("The preview cannot be shown."),
                               fields={"hazard_number": _("No hazard has the number %(n)s.", n=hazard_number[:30])})
    hazard = visible_hazard(user, hazard.id)
    try:
        return clean_html(_render(_compile(source, _LENIENT), _context(hazard, _steps(hazard.id))))
    except TemplateRefused as exc:
        raise ValidationFailed(_("The preview cannot be shown."), fields={"body": str(exc)}) from None


# ------------------------------------------------------------------------------------------ documents
@dataclass
class Document:
    kind: Kind
    hazard: Hazard
    body: Markup
    url: str


def document(user: User, hazard_id: int, kind: str) -> Document:
    """The document of `kind` for a hazard the user may see, once its step has happened (else NotFound)."""
    hazard = visible_hazard(user, hazard_id)
    spec = _kind(kind)
    steps = _steps(hazard.id)
    if kind not in _available(hazard, steps):
        raise NotFound(_("This hazard has no %(document)s: the step that produces it has not happened.",
                         document=spec.label))
    try:
        body = clean_html(_render(_compile(current_source(kind), _LENIENT), _context(hazard, steps)))
    except TemplateRefused as exc:
        raise DocumentUnavailable(_("The template of this document cannot be filled (%(reason)s). An administrator "
                                    "can correct it or restore the default.", reason=str(exc))) from None
    return Document(spec, hazard, body, hazard_url(hazard.id))


def pdf(html: str, css: str) -> bytes:
    """The printable page as PDF (WeasyPrint, fonts embedded); nothing is fetched but data: URLs.

    WeasyPrint needs Debian's Pango (`make browser` installs it); without it the PDF is unavailable (503 with what
    to do) while the print page keeps working."""
    try:
        from weasyprint import CSS, HTML
        from weasyprint.urls import URLFetcher
    except OSError:  # libpango missing: WeasyPrint's import loads it
        raise DocumentUnavailable(_("PDF output is not installed on this server (the Pango library is missing); "
                                    "print the page instead, or ask the administrator to install it.")) from None

    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=2)
    return HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[CSS(string=css, url_fetcher=fetcher)])


def issued_at(moment: datetime | None = None) -> str:
    return _cn_date(china_date(moment or clock.now()))
