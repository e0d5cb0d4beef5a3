"""Photos and documents: files on disk with a row each; forms refer to them by id."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import filetype
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import Attachment, Hazard, User
from app.services.access import can_see_hazard
from app.services.errors import BadRequest, NotFound, TooLarge, ValidationFailed

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic"}
DOCUMENT_TYPES = IMAGE_TYPES | {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword", "application/vnd.ms-excel",
}


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def store(user: User, stream: IO[bytes], filename: str) -> Attachment:
    """Save an uploaded file after checking its size and its type from the bytes (not the name)."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
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
        if mime not in DOCUMENT_TYPES:
            raise ValidationFailed(
                _("Only photos (JPEG, PNG, WebP, GIF, HEIC) and documents (PDF, Word, Excel) can be uploaded."),
                fields={"file": _("This file type is not accepted.")})
        sha = digest.hexdigest()
        key = f"{sha[:2]}/{sha}"
        target = directory / key
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    attachment = Attachment(sha256=sha, size=size, content_type=mime, kind="image" if mime in IMAGE_TYPES else "document",
                            original_name=(filename or "upload")[-255:], storage_key=key, owner_id=user.id,
                            organisation_id=user.organisation_id, created_at=clock.now())
    db.session.add(attachment)
    db.session.commit()
    return attachment


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
    ids = [i for f in fields if f.get("widget") == "attachments" for i in data.get(f["name"], [])]
    if ids:
        for row in db.session.scalars(select(Attachment).where(Attachment.id.in_(ids),
                                                                Attachment.hazard_id.is_(None))):
            row.hazard_id = hazard.id


def visible_attachment(user: User, attachment_id: int) -> Attachment:
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(_("Attachment %(id)s was not found.", id=attachment_id))
    if row.hazard_id is None:
        if row.owner_id != user.id:
            raise NotFound(_("Attachment %(id)s was not found.", id=attachment_id))
    elif not can_see_hazard(user, db.session.get(Hazard, row.hazard_id)):
        raise NotFound(_("Attachment %(id)s was not found.", id=attachment_id))
    return row


def path_of(attachment: Attachment) -> Path:
    path = (upload_dir() / attachment.storage_key).resolve()
    if upload_dir().resolve() not in path.parents:
        raise BadRequest(_("Invalid attachment path."))
    return path


def hazard_attachments(hazard_id: int) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.hazard_id == hazard_id)
                                   .order_by(Attachment.id)))
