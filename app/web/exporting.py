"""The words and the streaming of the Excel exports (services/exports.py) for both the pages and the API: the
same column headings as the pages, in the caller's language, and the temporary file sent in chunks and gone."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Response, send_file
from flask_babel import gettext as _

from app.services import exports, statutory
from app.web.headers import user_file
from app.web.pages.view import grade_label, status_label


def register_labels() -> exports.Labels:
    """The register page's columns (its Hazard column as title and location; its Status badges as status,
    grade, overdue and listed)."""
    return exports.Labels(
        title=_("Hazard register"),
        headers=[_("Number"), _("Hazard"), _("Location"), _("Enterprise"), _("Status"), _("Grade"), _("Overdue"),
                 _("Listed"), _("Deadline"), _("Responsible"), _("Reported")],
        status=status_label, grade=grade_label, yes=_("Yes"), no=_("No"))


def ledger_labels() -> exports.Labels:
    return exports.Labels(
        title=_("Listed-supervision ledger"),
        headers=[_("Number"), _("Hazard"), _("Enterprise"), _("Notice number"), _("Listing unit"), _("Tier"),
                 _("Supervision deadline"), _("Responsible"), _("Status"), _("Written off on")],
        status=status_label, grade=grade_label, yes=_("Yes"), no=_("No"), tier=tier_label)


def tier_label(tier: str | None) -> str:
    return statutory.tier_labels().get(tier or "", tier or "")


def send_export(path: Path, filename: str) -> Response:
    """Stream a finished export and delete it: the file is opened, unlinked (it lives on until closed) and sent
    in chunks, so that neither the worker's memory nor the disk keeps it."""
    stream = open(path, "rb")  # noqa: SIM115 — closed by the response once sent
    try:
        os.unlink(path)
    except OSError:
        stream.close()
        raise
    return user_file(send_file(stream, mimetype=exports.XLSX), filename)
