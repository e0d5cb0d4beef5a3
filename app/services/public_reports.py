"""Reports from the public (举报): no account, a tracking code and a PIN to follow them, abuse kept out.

The reporter proves a little work (ALTCHA's proof of work, solved in their browser; one solution, one report),
is limited per address by the web layer (Flask-Limiter on the shared store), and sends photos that pass the
attachments' checks. A report of the same enterprise with a similar description within PUBLIC_DUPLICATE_DAYS is
linked to the first one and the reporter is told it is already known. The name and contact are encrypted
(services/reporter_secrets.py); only the inspectors of the supervising unit read them, and each reading is
audited.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any

import altcha
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import exists, false, func, select
from sqlalchemy.exc import IntegrityError

from app.chinatime import parse_date
from app.chinatime import today as china_today
from app.clock import clock
from app.extensions import db
from app.models import (
    FINAL_STATUSES,
    Attachment,
    Hazard,
    HazardStatus,
    HumanTask,
    Organisation,
    OrgKind,
    OrgStatus,
    ProcessVersion,
    PublicReport,
    PublicReportStatus,
    PublicReward,
    Region,
    RewardStatus,
    TaskStatus,
    Timer,
    TimerKind,
    TimerStatus,
    User,
)
from app.services import attachments, audit, reporter_secrets
from app.services.capabilities import may_answer_public_reports
from app.services.errors import NotFound, ValidationFailed
from app.services.paging import Page, paginate
from app.services.policy import acting_orgs, closed_regions, resolve_supervising_unit
from app.services.search import escape_like
from app.services.text import unfit_text
from app.services.triage_forms import FIRST_ANSWER
from app.services.users import normalise_mobile

# Crockford's base 32: no I, L, O or U, so a code read aloud or copied by hand is unambiguous.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
PIN_LENGTH = 6
DESCRIPTION_MAX = 4000
CHALLENGE_FIELD = "altcha"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


# ------------------------------------------------------------------------------------------------ the challenge
def _altcha_key() -> str:
    return hmac.new(current_app.config["SECRET_KEY"].encode("utf-8"), b"hazardloop-altcha", hashlib.sha256).hexdigest()


def new_challenge() -> dict[str, Any]:
    """A signed ALTCHA challenge (JSON for the form's script or an API client): find `number` in 0..maxnumber
    with sha256(salt + number) == challenge, then send base64(JSON {algorithm, challenge, number, salt,
    signature}) as the field `altcha`."""
    expires = clock.now() + timedelta(minutes=current_app.config["PUBLIC_CHALLENGE_MINUTES"])
    made = altcha.create_challenge_v1(altcha.ChallengeOptionsV1(
        hmac_key=_altcha_key(), max_number=current_app.config["PUBLIC_CHALLENGE_MAX_NUMBER"], expires=expires))
    return {"algorithm": made.algorithm, "challenge": made.challenge, "maxnumber": made.max_number,
            "salt": made.salt, "signature": made.signature}


def solve(challenge: dict[str, Any]) -> str:
    """The `altcha` field's value for a challenge (what the form's script computes; tests and API clients)."""
    found = altcha.solve_challenge_v1(challenge["challenge"], challenge["salt"], challenge["algorithm"],
                                      challenge["maxnumber"])
    payload = {"algorithm": challenge["algorithm"], "challenge": challenge["challenge"], "number": found.number,
               "salt": challenge["salt"], "signature": challenge["signature"]}
    return base64.b64encode(json.dumps(payload).encode("utf-8")).decode("ascii")


def _checked_challenge(raw: Any, errors: dict[str, str]) -> str | None:
    """The signature of a valid, unexpired, unused solution, else None with the field's message."""
    problem = _("The check that you are a person did not finish; wait until it says it is done, then send again.")
    if not isinstance(raw, str) or not raw or len(raw) > 2000:
        errors[CHALLENGE_FIELD] = problem
        return None
    try:
        payload = json.loads(base64.b64decode(raw, validate=True))
        ok, _error = altcha.verify_solution_v1(payload, _altcha_key(), check_expires=True)
    except (ValueError, TypeError, KeyError, AttributeError):
        ok = False
    if not ok:
        errors[CHALLENGE_FIELD] = problem
        return None
    signature = str(payload["signature"])[:128]
    if db.session.scalar(select(PublicReport.id).where(PublicReport.challenge_signature == signature)):
        errors[CHALLENGE_FIELD] = _("This check was already used for a report; reload the page and send again.")
        return None
    return signature


# ------------------------------------------------------------------------------------------------ codes and PINs
def normalise_code(text: str | None) -> str:
    """A tracking code as typed (lower case, spaces, dashes, O for 0, I or L for 1) in its stored form."""
    return re.sub(r"[\s\-]", "", (text or "")).upper().translate(_ALIASES)[:40]


def _pin_hash(code: str, pin: str) -> str:
    """Keyed with SECRET_KEY: a copy of the database alone cannot try the million PINs offline."""
    return hmac.new(current_app.config["SECRET_KEY"].encode("utf-8"), f"public-report:{code}:{pin}".encode(),
                    hashlib.sha256).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# ------------------------------------------------------------------------------------------------ reading a report
def text_field(values: dict[str, Any], name: str, most: int, errors: dict[str, str], *, required: bool = False,
               keep_lines: bool = False) -> str | None:
    """The text sent as `name` (spaces collapsed unless `keep_lines`), or None with the field's message."""
    raw = values.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[name] = _("This field is required.")
        return None
    if not isinstance(raw, str):
        errors[name] = _("Enter text.")
        return None
    text = raw.strip() if keep_lines else " ".join(raw.split())
    if unfit_text(text):
        errors[name] = _("Remove the NUL character (\\u0000) or the broken character from this text.")
    elif len(text) > most:
        errors[name] = _("Enter at most %(n)d characters.", n=most)
    else:
        return text
    return None


def whole_number(values: dict[str, Any], name: str, errors: dict[str, str]) -> int | None:
    """An id sent as `name` (a number or its digits), None when absent, or None with the field's message."""
    raw = values.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 10:
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 2_147_483_647:
        errors[name] = _("Choose one from the list.")
        return None
    return raw


def _contact(text: str | None, errors: dict[str, str]) -> str | None:
    """A mainland mobile number or an e-mail address, as stored."""
    if text is None:
        return None
    if "@" in text:
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["contact"] = _("Enter a mobile number (11 digits) or an e-mail address like name@example.com.")
            return None
    mobile = normalise_mobile(text)
    if not _MOBILE.match(mobile):
        errors["contact"] = _("Enter a mobile number (11 digits) or an e-mail address like name@example.com.")
        return None
    return mobile


def active_enterprise(enterprise_id: int | None) -> Organisation | None:
    if enterprise_id is None:
        return None
    row = db.session.get(Organisation, enterprise_id)
    return row if row is not None and row.kind == OrgKind.enterprise and row.status == OrgStatus.active else None


def search_enterprises(text: str, limit: int = 20) -> list[Organisation]:
    """Active enterprises whose name contains `text`, names starting with it first (the public form's type-ahead;
    names and addresses only: what any business register shows)."""
    text = " ".join((text or "").split())[:200]
    if not text:
        return []
    escaped = escape_like(text)
    stmt = (select(Organisation).where(Organisation.kind == OrgKind.enterprise, Organisation.status == OrgStatus.active,
                                       Organisation.name.ilike(f"%{escaped}%", escape="\\"))
            .order_by(Organisation.name.ilike(f"{escaped}%", escape="\\").desc(), Organisation.name, Organisation.id))
    return list(db.session.scalars(stmt.limit(limit)))


def regions() -> list[Region]:
    """The regions a reporter chooses from: districts and the townships, streets and parks below them, but for the
    closed ones (merged into another region)."""
    from app.models import RegionKind

    closed = closed_regions()
    return [r for r in db.session.scalars(select(Region).where(Region.kind != RegionKind.grid).order_by(Region.code))
            if r.id not in closed]


@dataclass
class _Checked:
    description: str
    enterprise: Organisation | None
    address: str | None
    region_id: int
    seen_on: date
    name: str | None
    contact: str | None
    signature: str


def _check(values: dict[str, Any], photo_count: int) -> _Checked:
    errors: dict[str, str] = {}
    description = text_field(values, "description", DESCRIPTION_MAX, errors, required=True, keep_lines=True)
    enterprise_id = whole_number(values, "enterprise_id", errors)
    enterprise = active_enterprise(enterprise_id)
    if enterprise_id is not None and enterprise is None:
        errors["enterprise_id"] = _("Choose an enterprise from the suggestions, or leave it empty and give the "
                                    "address.")
    address = text_field(values, "address", 300, errors)
    if enterprise is None and address is None and "enterprise_id" not in errors and "address" not in errors:
        errors["address"] = _("Give the address where you saw it, or choose the enterprise.")
    region_id = whole_number(values, "region_id", errors)
    if region_id is not None and (db.session.get(Region, region_id) is None or region_id in closed_regions()):
        errors["region_id"] = _("Choose one from the list.")
    if region_id is None and enterprise is not None and enterprise.region_id is not None:
        region_id = enterprise.region_id
    if region_id is None and "region_id" not in errors:
        errors["region_id"] = _("Choose the district or township where you saw it.")
    seen_on = parse_date(values.get("seen_on")) if isinstance(values.get("seen_on"), str | date) else None
    today = china_today()
    if seen_on is None:
        errors["seen_on"] = _("Enter the date you saw it (YYYY-MM-DD).")
    elif seen_on > today:
        errors["seen_on"] = _("The date cannot be in the future.")
    elif seen_on < today - timedelta(days=366):
        errors["seen_on"] = _("Report what you saw within the last year.")
    name = text_field(values, "name", 100, errors)
    contact = _contact(text_field(values, "contact", 200, errors), errors)
    if photo_count > current_app.config["PUBLIC_PHOTOS_MAX"]:
        errors["photos"] = _("Send at most %(n)d photos.", n=current_app.config["PUBLIC_PHOTOS_MAX"])
    signature = _checked_challenge(values.get(CHALLENGE_FIELD), errors) if not errors else None
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), fields=errors)
    return _Checked(description, enterprise, address, region_id, seen_on, name, contact, signature)


# ------------------------------------------------------------------------------------------------ duplicates
def normalised(text: str) -> str:
    """A description compared for duplicates: full-width folded, case and punctuation and spaces dropped."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def similarity(a: str, b: str) -> float:
    """How alike two descriptions are, 0..1 (difflib's ratio on the normalised texts; the same on every
    database, computed here over the few recent reports of one enterprise)."""
    left, right = normalised(a), normalised(b)
    if not left or not right:
        return 0.0
    return 1.0 if left == right else difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()


def _original_of(enterprise: Organisation | None, description: str, now: datetime) -> PublicReport | None:
    """The first report of this enterprise with a similar description within PUBLIC_DUPLICATE_DAYS."""
    if enterprise is None:
        return None
    since = now - timedelta(days=current_app.config["PUBLIC_DUPLICATE_DAYS"])
    threshold = current_app.config["PUBLIC_DUPLICATE_SIMILARITY"]
    recent = db.session.scalars(select(PublicReport).where(
        PublicReport.enterprise_id == enterprise.id, PublicReport.created_at >= since,
        PublicReport.status != PublicReportStatus.rejected).order_by(PublicReport.id).limit(200))
    for row in recent:
        if similarity(row.description, description) >= threshold:
            return db.session.get(PublicReport, row.duplicate_of_id) if row.duplicate_of_id else row
    return None


# ------------------------------------------------------------------------------------------------ submitting
@dataclass
class Receipt:
    tracking_code: str
    pin: str
    duplicate: bool


@dataclass
class Photo:
    stream: IO[bytes]
    filename: str


_UPLOAD_SALT = "hazardloop-public-attachment"


def _upload_tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_UPLOAD_SALT)


def upload_photo(stream: IO[bytes], filename: str) -> str:
    """Store one photo before the report (the API's two-step way); returns the signed id the report names."""
    try:
        row = attachments.store(None, stream, filename, accept=attachments.IMAGE_TYPES)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return _upload_tokens().dumps(row.id)


def _uploaded(tokens: list[Any]) -> list[Attachment]:
    """The photos named by signed ids from upload_photo: unused, from the public, not older than the clean-up."""
    rows: list[Attachment] = []
    max_age = current_app.config["UPLOAD_UNLINKED_HOURS"] * 3600
    for token in tokens:
        try:
            attachment_id = _upload_tokens().loads(token, max_age=max_age) if isinstance(token, str) else None
        except BadSignature:
            attachment_id = None
        row = db.session.get(Attachment, attachment_id) if isinstance(attachment_id, int) else None
        if (row is None or row.owner_id is not None or row.public_report_id is not None or row.hazard_id is not None
                or row in rows):
            raise ValidationFailed(_("Some fields need your attention."), fields={
                "attachment_ids": _("A photo id is unknown, expired or already used; upload the photo again.")})
        rows.append(row)
    return rows


def submit(values: dict[str, Any], photos: Iterable[Photo] = (), attachment_ids: list[Any] | None = None) -> Receipt:
    """Record a report from the public with its photos; answers the tracking code and the PIN (shown once)."""
    photos = list(photos)
    attachment_ids = attachment_ids or []
    if not isinstance(attachment_ids, list):
        raise ValidationFailed(_("Some fields need your attention."),
                               fields={"attachment_ids": _("Send a list of photo ids.")})
    try:
        checked = _check(values, len(photos) + len(attachment_ids))
        stored = _uploaded(attachment_ids)
        problems: dict[str, str] = {}
        for photo in photos:
            try:
                stored.append(attachments.store(None, photo.stream, photo.filename, accept=attachments.IMAGE_TYPES))
            except ValidationFailed as exc:
                problems["photos"] = _("%(file)s: %(problem)s", file=photo.filename, problem=exc.message)
        if problems:
            raise ValidationFailed(_("Some fields need your attention."), fields=problems)
        now = clock.now()
        original = _original_of(checked.enterprise, checked.description, now)
        code, pin = _new_code(), "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH))
        unit = (checked.enterprise.supervising_unit_id if checked.enterprise is not None
                else resolve_supervising_unit(checked.region_id))
        report = PublicReport(
            tracking_code=code, pin_hash=_pin_hash(code, pin), description=checked.description,
            enterprise_id=checked.enterprise.id if checked.enterprise else None, address=checked.address,
            region_id=checked.region_id, supervising_unit_id=unit, seen_on=checked.seen_on,
            status=PublicReportStatus.duplicate if original else PublicReportStatus.received,
            duplicate_of_id=original.id if original else None, hazard_id=original.hazard_id if original else None,
            reporter_name=reporter_secrets.seal(checked.name), reporter_contact=reporter_secrets.seal(checked.contact),
            challenge_signature=checked.signature, created_at=now, updated_at=now)
        db.session.add(report)
        db.session.flush()
        for row in stored:
            row.public_report_id = report.id
        db.session.commit()
    except IntegrityError:  # the same solution sent twice at once (or, once in 10^15, a code drawn twice)
        db.session.rollback()
        raise ValidationFailed(_("Some fields need your attention."), fields={
            CHALLENGE_FIELD: _("This check was already used for a report; reload the page and send again.")}) from None
    except BaseException:
        db.session.rollback()
        raise
    if original is None:
        _start_triage_after(report)
    return Receipt(code, pin, original is not None)


def _start_triage_after(report: PublicReport) -> None:
    """Start a report's triage once the report is kept (its answer task tells the unit's inspectors): in a
    transaction of its own, so that a triage that cannot start now (a broken diagram the administrator must fix)
    never loses the report — the scheduler starts it later (start_missing_triages)."""
    try:
        start_triage(report)
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("the triage of public report %s could not start", report.id)


# ------------------------------------------------------------------------------------------------ triage
def start_triage(report: PublicReport) -> bool:
    """Start the report's triage (bpmn/public_report_triage.bpmn, services/public_answers.py) inside the caller's
    transaction: its instance, the first-answer task in the inspector lane of the report's supervising unit, the
    deadline and its reminders, the unit's inspectors told. False (nothing done) when the triage process is not
    installed yet or the report has no unit: the scheduler starts it later (start_missing_triages)."""
    from app.services import lifecycle
    from app.services.unit_of_work import instance_step

    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == lifecycle.TRIAGE_PROCESS,
                                                             ProcessVersion.active.is_(True)))
    if version is None or report.supervising_unit_id is None or report.instance_id is not None:
        return False
    with instance_step(subject=report, commit=False) as step:
        step.start(version, triage_data(report), actor_id=None)
        step.audit("triage_started", actor_id=None, data={"public_report": report.id,
                                                          "tracking_code": report.tracking_code,
                                                          "version": version.number})
    return True


def triage_data(report: PublicReport) -> dict[str, Any]:
    """What a triage instance starts on (lifecycle.TRIAGE_START_DATA): nothing of the reporter but whether they
    left contact details."""
    return {"public_report_id": report.id, "tracking_code": report.tracking_code,
            "has_enterprise": report.enterprise_id is not None, "has_contact": has_reporter(report)}


def start_missing_triages(batch: int = 200) -> int:
    """Start the triage of reports received (or referred) without one — reports received before the triage process
    was installed, or while it was not: the scheduler calls it every tick, and `flask shipped install` once.
    Idempotent: a report with an instance is skipped (its row is locked while it is started). Returns how many."""
    started = 0
    ids = list(db.session.scalars(select(PublicReport.id).where(
        PublicReport.instance_id.is_(None), PublicReport.supervising_unit_id.is_not(None),
        PublicReport.status.in_([PublicReportStatus.received, PublicReportStatus.referred]))
        .order_by(PublicReport.id).limit(batch)))
    db.session.rollback()
    for report_id in ids:
        try:
            report = db.session.scalars(select(PublicReport).where(PublicReport.id == report_id,
                                                                   PublicReport.instance_id.is_(None))
                                        .with_for_update(skip_locked=True)
                                        .execution_options(populate_existing=True)).one_or_none()
            done = report is not None and start_triage(report)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        started += bool(done)
    return started




def answer_deadlines(reports: list[PublicReport]) -> dict[int, datetime]:
    """The first-answer deadline of each report still in triage, read from its process as the scheduler reads it:
    its instance's pending deadline timer named `first_answer`, else the earliest pending deadline timer of its open
    steps, else the earliest due time of an open step — whatever the diagram's steps and forms are called. Two
    statements, whatever the number of reports."""
    by_instance = {r.instance_id: r.id for r in reports if r.instance_id is not None}
    found: dict[int, tuple[bool, datetime]] = {}  # report → (named first_answer, due)
    if by_instance:
        for instance_id, name, due in db.session.execute(select(Timer.instance_id, Timer.deadline, Timer.due_at).where(
                Timer.instance_id.in_(by_instance), Timer.kind == TimerKind.engine,
                Timer.status == TimerStatus.pending, Timer.deadline.is_not(None))):
            key, best = (name == FIRST_ANSWER, due), found.get(by_instance[instance_id])
            if best is None or (key[0], -key[1].timestamp()) > (best[0], -best[1].timestamp()):
                found[by_instance[instance_id]] = key
    due_at = {report_id: due for report_id, (_named, due) in found.items()}
    waiting = [r.id for r in reports if r.id not in due_at]
    if waiting:
        for report_id, due in db.session.execute(
                select(HumanTask.public_report_id, func.min(HumanTask.due_at)).where(
                    HumanTask.public_report_id.in_(waiting), HumanTask.status == TaskStatus.open,
                    HumanTask.due_at.is_not(None)).group_by(HumanTask.public_report_id)):
            due_at[report_id] = due
    return due_at


# ------------------------------------------------------------------------------------------------ following it
@dataclass
class PublicStatus:
    """What the reporter reads: never the enterprise's internal data."""
    tracking_code: str
    status: PublicReportStatus
    outcome: str | None
    received_on: date
    already_known: bool
    hazard_state: str | None  # "in_progress", "fixed" or "written_off" once a hazard follows the report
    reward: str | None = None  # "approved" or "refused" once the head of the bureau decided
    reward_amount: int | None = None  # fen, when approved


def _not_found() -> NotFound:
    return NotFound(_("No report has this tracking code and PIN. Check both (the code has 10 characters, the PIN "
                      "6 digits) and try again."))


def find(code: str, pin: str) -> PublicReport:
    """The report with this code and PIN; an unknown code and a wrong PIN are the same NotFound."""
    code, pin = normalise_code(code), (pin or "").strip()
    given = _pin_hash(code, pin)  # computed for unknown codes too: the answer takes as long either way
    report = db.session.scalar(select(PublicReport).where(PublicReport.tracking_code == code)) if len(code) == \
        CODE_LENGTH else None
    if report is None or not (pin.isascii() and pin.isdigit()) or not hmac.compare_digest(report.pin_hash, given):
        raise _not_found()
    return report


def public_status(code: str, pin: str) -> PublicStatus:
    """The status and outcome of a report for whoever holds its code and PIN."""
    report = find(code, pin)
    followed = db.session.get(PublicReport, report.duplicate_of_id) if report.duplicate_of_id else report
    hazard_id = followed.hazard_id or report.hazard_id
    hazard_state = None
    if hazard_id is not None:
        status = db.session.scalar(select(Hazard.status).where(Hazard.id == hazard_id))
        hazard_state = ("written_off" if status == HazardStatus.written_off
                        else "fixed" if status in FINAL_STATUSES else "in_progress")
    # A reward is the reporter's own report's (a duplicate's reporter was not the first to tell).
    reward = db.session.scalar(select(PublicReward).where(PublicReward.public_report_id == report.id,
                                                          PublicReward.status != RewardStatus.proposed))
    return PublicStatus(report.tracking_code, followed.status, followed.outcome, report.created_at.date(),
                        report.duplicate_of_id is not None, hazard_state,
                        reward.status.value if reward else None,
                        reward.amount if reward and reward.status == RewardStatus.approved else None)


# ------------------------------------------------------------------------------------------------ the unit's side
def _unit_scope(user: User):
    if not may_answer_public_reports(user):
        return None
    return PublicReport.supervising_unit_id.in_(acting_orgs(user))


def overdue_clause(now: datetime):
    """A report with an open triage step past its due time (the first answer's deadline, or a step's own)."""
    return exists().where(HumanTask.public_report_id == PublicReport.id, HumanTask.status == TaskStatus.open,
                          HumanTask.due_at.is_not(None), HumanTask.due_at < now)


def overdue_ids(reports: list[PublicReport]) -> set[int]:
    """Which of these reports have an open step past its due time (overdue_clause), in one statement."""
    ids = [r.id for r in reports]
    if not ids:
        return set()
    return set(db.session.scalars(select(PublicReport.id).where(PublicReport.id.in_(ids),
                                                                overdue_clause(clock.now()))))


def unit_reports(user: User, page: int = 1, per_page: int = 20, status: PublicReportStatus | None = None,
                 overdue: bool | None = None) -> Page:
    """The reports the user's unit (and the units below it) answer, newest first: inspectors only; `status`, and
    `overdue` (an open step past its due time, or not), narrow it."""
    scope = _unit_scope(user)
    stmt = select(PublicReport).where(scope if scope is not None else false())
    if status is not None:
        stmt = stmt.where(PublicReport.status == status)
    if overdue is not None:
        late = overdue_clause(clock.now())
        stmt = stmt.where(late if overdue else ~late)
    rows = db.session.scalars(stmt.order_by(PublicReport.id.desc()).offset((page - 1) * per_page).limit(per_page + 1))
    return paginate(stmt, page, per_page, rows)


def visible_report(user: User, report_id: int) -> PublicReport:
    """A report the user's unit answers (inspectors), else NotFound."""
    scope = _unit_scope(user)
    row = db.session.scalar(select(PublicReport).where(PublicReport.id == report_id, scope)) if scope is not None \
        else None
    if row is None:
        raise NotFound(_("Public report %(id)s was not found.", id=report_id))
    return row


def report_photos(report: PublicReport) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.public_report_id == report.id)
                                   .order_by(Attachment.id)))


@dataclass
class Reporter:
    name: str | None
    contact: str | None


def reveal_reporter(user: User, report_id: int) -> Reporter:
    """The reporter's name and contact, for the inspectors of the unit; each reading is recorded in the audit trail
    (the system chain: never on a hazard's timeline, which the enterprise reads)."""
    report = visible_report(user, report_id)
    try:
        audit.record("reporter_details_read", actor_id=user.id,
                     data={"public_report": report.id, "tracking_code": report.tracking_code})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Reporter(reporter_secrets.unseal(report.reporter_name), reporter_secrets.unseal(report.reporter_contact))


def has_reporter(report: PublicReport) -> bool:
    return report.reporter_name is not None or report.reporter_contact is not None
