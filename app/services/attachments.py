"""Photos and documents: files in the file store (app/storage.py) with a row each; forms refer to them by id."""
from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

import filetype
from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, func, select

from app.clock import clock
from app.extensions import db, undo_unless_committed
from app.models import Attachment, Hazard, PublicReport, Role, User
from app.services import forms
from app.services.access import can_see_hazard
from app.services.errors import BadRequest, NotFound, ServiceError, TooLarge, ValidationFailed
from app.services.policy import acting_orgs
from app.storage import MissingFile, storage

T = TypeVar("T")

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic"}
DOCUMENT_TYPES = IMAGE_TYPES | {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword", "application/vnd.ms-excel",
}


def store(user: User | None, stream: IO[bytes], filename: str, *, accept: frozenset[str] | set[str] = DOCUMENT_TYPES
          ) -> Attachment:
    """Save an uploaded file after checking its size and its type from the bytes (not the name).

    `user` None: a photo from the public (services/public_reports.py), limited by the client's address instead of
    a user's daily quota. `accept`: the content types taken (IMAGE_TYPES: photos only).

    The row is flushed (it has its id), not committed: the use case that receives the file commits it with
    everything else. The file is removed again if that transaction does not commit.
    """
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    digest, size = hashlib.sha256(), 0
    # Checked in a local temporary file first; only an accepted file goes to the store.
    fd, tmp = tempfile.mkstemp(prefix="hazardloop-upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(_("The file is larger than %(mb)s MB; upload a smaller file.",
                                     mb=round(limit / 1024 / 1024, 1)), fields={"file": _("File too large.")})
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed(_("The file is empty."), fields={"file": _("The file is empty.")})
        kind = filetype.guess(tmp)
        mime = kind.mime if kind else None
        if mime not in accept:
            raise ValidationFailed(
                _("Only photos (JPEG, PNG, WebP, GIF, HEIC) and documents (PDF, Word, Excel) can be uploaded.")
                if accept == DOCUMENT_TYPES else _("Only photos (JPEG, PNG, WebP, GIF, HEIC) can be uploaded."),
                fields={"file": _("This file type is not accepted.")})
        if mime in IMAGE_TYPES:
            _check_dimensions(tmp, mime)
        if user is not None:
            _check_quota(user, size)
        sha = digest.hexdigest()
        # One file per row (not one per content): a file is then removed with the transaction that wrote it
        # without asking whether another, uncommitted upload of the same bytes still needs it.
        key = f"{sha[:2]}/{sha}-{uuid.uuid4().hex[:12]}"
        files = storage()
        with open(tmp, "rb") as accepted:
            files.put(key, accepted, mime)
    finally:
        Path(tmp).unlink(missing_ok=True)
    undo_unless_committed(lambda: files.delete(key))
    attachment = Attachment(sha256=sha, size=size, content_type=mime, kind="image" if mime in IMAGE_TYPES else "document",
                            original_name=(filename or "upload")[-255:], storage_key=key,
                            owner_id=user.id if user else None,
                            organisation_id=user.organisation_id if user else None, created_at=clock.now())
    db.session.add(attachment)
    db.session.flush()
    return attachment


def _check_dimensions(path: str, mime: str) -> None:
    """Refuse images whose pixel count (read from the header, nothing decoded) would flood a viewer's memory."""
    if mime == "image/heic":  # Pillow has no HEIC reader; browsers do not show HEIC inline either
        return
    limit = current_app.config["MAX_IMAGE_PIXELS"]
    too_large = ValidationFailed(
        _("The photo has too many pixels (at most %(mp)s megapixels); send a smaller photo.", mp=limit // 1_000_000),
        fields={"file": _("Too many pixels.")})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise too_large from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationFailed(_("The photo cannot be read; send it again as JPEG or PNG."),
                               fields={"file": _("Unreadable photo.")}) from None
    if width * height > limit:
        raise too_large


def _check_quota(user: User, size: int) -> None:
    """A user uploads at most UPLOAD_QUOTA_MB in 24 hours."""
    quota = current_app.config["UPLOAD_QUOTA_MB"] * 1024 * 1024
    used = db.session.scalar(select(func.coalesce(func.sum(Attachment.size), 0)).where(
        Attachment.owner_id == user.id, Attachment.created_at > clock.now() - timedelta(hours=24)))
    if used + size > quota:
        raise TooLarge(_("You have uploaded %(used)s MB in the last 24 hours; the limit is %(quota)s MB a day. "
                         "Try again tomorrow or ask your administrator.", used=round(used / 1024 / 1024, 1),
                         quota=current_app.config["UPLOAD_QUOTA_MB"]), fields={"file": _("Daily upload limit reached.")})


def remove_unlinked(batch: int = 200) -> int:
    """Delete files that no hazard took within UPLOAD_UNLINKED_HOURS (sent with a form that was then refused or
    abandoned); the scheduler calls it every tick. Returns how many were removed."""
    cutoff = clock.now() - timedelta(hours=current_app.config["UPLOAD_UNLINKED_HOURS"])
    ids = list(db.session.scalars(select(Attachment.id).where(Attachment.hazard_id.is_(None),
                                                              Attachment.public_report_id.is_(None),
                                                              Attachment.created_at < cutoff).limit(batch)))
    if not ids:
        return 0
    try:
        # hazard_id is checked again by the DELETE itself: a file a form links meanwhile stays.
        keys = list(db.session.scalars(delete(Attachment).where(Attachment.id.in_(ids), Attachment.hazard_id.is_(None),
                                                                  Attachment.public_report_id.is_(None))
                                       .returning(Attachment.storage_key)))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    files = storage()
    for key in keys:
        files.delete(key)
    return len(keys)


def upload(user: User, stream: IO[bytes], filename: str) -> Attachment:
    """Upload one file on its own (the API's upload, before a form refers to it by id)."""
    try:
        attachment = store(user, stream, filename)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return attachment


@dataclass
class Upload:
    """A file sent with a form, in the form field `field`."""
    field: str
    stream: IO[bytes]
    filename: str


def submit_with_uploads(user: User, form: forms.FormDefinition, typed: Callable[[str], list[str]],
                        uploads: Iterable[Upload], check: Callable[[str, list[int], str], str | None],
                        act: Callable[[dict[str, Any]], T]) -> T:
    """A form sent from a page with its files: store the files, read the form (`typed`: the values typed per field,
    the new files' ids added to their fields) and run `act(data)`, the use case, which commits them together.

    Call it once the user may act (an upload is not stored for a refused submission). When a file is refused or
    a field is invalid, the files that were accepted are committed, to be kept for the next try (they are the
    user's own until a form uses them), and ValidationFailed carries every message and the data (`values`). When
    `act` refuses otherwise (Conflict, Forbidden...), nothing of the submission stays: no row, no file.
    """
    new_ids: dict[str, list[str]] = {}
    upload_errors: dict[str, str] = {}
    try:
        for item in uploads:
            try:
                new_ids.setdefault(item.field, []).append(str(store(user, item.stream, item.filename).id))
            except ServiceError as exc:
                upload_errors[item.field] = _("%(file)s: %(problem)s", file=item.filename, problem=exc.message)
        data = forms.coerce_form_input(form, lambda name: typed(name) + new_ids.get(name, []))
        try:
            # Every problem at once, and before the use case runs: it rolls back what it refuses, and the
            # accepted files must stay for the next try.
            try:
                forms.validate(form, data, check)
            except ValidationFailed as exc:
                upload_errors = {**exc.fields, **upload_errors}
            if upload_errors:
                raise ValidationFailed(_("Some fields need your attention."), fields=upload_errors)
            return act(data)
        except ValidationFailed as exc:
            db.session.commit()
            exc.values = data
            raise
    except BaseException:
        db.session.rollback()
        raise


def attachment_checker(user: User, hazard: Hazard | None) -> Callable[[str, list[int], str], str | None]:
    """A check for form fields: every id exists, is the user's (or already this hazard's), and fits `accept`."""
    def check(field: str, ids: list[int], accept: str) -> str | None:
        if len(set(ids)) != len(ids):
            return _("The same file is attached twice.")
        rows = {a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
        for attachment_id in ids:
            row = rows.get(attachment_id)
            usable = row is not None and (
                (row.hazard_id is None and row.owner_id == user.id)
                or (hazard is not None and row.hazard_id == hazard.id))
            if not usable:
                return _("Attachment %(id)s does not exist or is not yours to use; upload it again.", id=attachment_id)
            if accept == "image" and row.kind != "image":
                return _("Attachment %(id)s is not a photo; this field takes photos only.", id=attachment_id)
        return None
    return check


def link_to_hazard(hazard: Hazard, data: dict, fields: list[dict]) -> None:
    """Give the files a submission uploaded to the hazard, filed by the kind their field names (`evidenceKind`)."""
    kinds = {i: f.get("evidenceKind") for f in fields if f.get("widget") == "attachments"
             for i in data.get(f["name"], [])}
    if kinds:
        for row in db.session.scalars(select(Attachment).where(Attachment.id.in_(list(kinds)),
                                                                Attachment.hazard_id.is_(None))):
            row.hazard_id = hazard.id
            row.evidence_kind = kinds[row.id]


def visible_attachment(user: User, attachment_id: int) -> Attachment:
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(_("Attachment %(id)s was not found.", id=attachment_id))
    if row.public_report_id is not None and row.hazard_id is None:  # a photo from the public: its unit's inspectors
        unit = db.session.scalar(select(PublicReport.supervising_unit_id).where(PublicReport.id == row.public_report_id))
        if user.role != Role.inspector or unit not in acting_orgs(user):
            raise NotFound(_("Attachment %(id)s was not found.", id=attachment_id))
    elif row.hazard_id is None:
        if row.owner_id != user.id:
            raise NotFound(_("Attachment %(id)s was not found.", id=attachment_id))
    elif not can_see_hazard(user, db.session.get(Hazard, row.hazard_id)):
        raise NotFound(_("Attachment %(id)s was not found.", id=attachment_id))
    return row


def open_file(attachment: Attachment) -> IO[bytes]:
    """The bytes of an attachment the caller may see (visible_attachment), as a stream to send on; the caller
    closes it."""
    try:
        return storage().open(attachment.storage_key)
    except ValueError:
        raise BadRequest(_("Invalid attachment path.")) from None
    except MissingFile:
        raise NotFound(_("The file of this attachment is missing from the file store; ask your administrator to "
                         "restore it from the backup.")) from None


def hazard_attachments(hazard_id: int) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.hazard_id == hazard_id)
                                   .order_by(Attachment.id)))
