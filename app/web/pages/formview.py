"""Forms defined in forms/*.json as HTML: fields to render, and a submission (with its uploads) read back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request

from app.models import Attachment, User
from app.services import attachments, forms
from app.services.errors import NotFound
from app.web.pages.view import text_in


@dataclass
class FieldView:
    name: str
    widget: str
    label: str
    help: str
    required: bool
    value: Any = None
    error: str | None = None
    choices: list[tuple[Any, str]] = field(default_factory=list)
    show_if: dict[str, Any] | None = None
    visible: bool = True
    accept: str = "document"
    max_files: int = 9
    files: list[Attachment] = field(default_factory=list)

    @property
    def checked(self) -> bool:
        return self.value is True

    @property
    def file_accept(self) -> str:
        if self.accept == "image":
            return "image/*"
        return "image/*,application/pdf,.pdf,.doc,.docx,.xls,.xlsx"


def _required(form: forms.FormDefinition) -> set[str]:
    """Fields marked with an asterisk: required always, or required whenever they are shown."""
    schema = form.schema
    names = set(schema.get("required", []))
    conditional = {n for clause in schema.get("allOf", []) for n in clause.get("then", {}).get("required", [])}
    names |= {f["name"] for f in form.fields if f.get("showIf") and f["name"] in conditional}
    return names


def _files(user: User, ids: Any) -> list[Attachment]:
    """The already-uploaded files a re-rendered form keeps; ids the user may not see are left out."""
    found = []
    for raw in ids if isinstance(ids, list) else []:
        try:
            found.append(attachments.visible_attachment(user, int(raw)))
        except (NotFound, TypeError, ValueError):
            continue
    return found


def field_views(form: forms.FormDefinition, user: User, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None) -> list[FieldView]:
    """The form's fields in the user's language, with the user's values and the messages next to them."""
    values, errors = values or {}, errors or {}
    required = _required(form)
    views = []
    for spec in form.fields:
        name, widget = spec["name"], spec.get("widget", "text")
        show_if = spec.get("showIf")
        view = FieldView(
            name=name, widget=widget, label=text_in(spec.get("label"), name), help=text_in(spec.get("help")),
            # An unticked box is an answer ("no"), so a checkbox is never marked as required.
            required=name in required and widget != "checkbox", value=values.get(name), error=errors.get(name),
            choices=[(c["value"], text_in(c.get("label"), str(c["value"]))) for c in spec.get("choices", [])],
            show_if=show_if, visible=not show_if or values.get(show_if["field"]) == show_if.get("equals"),
            accept=spec.get("accept", "document"), max_files=int(spec.get("max", 9)))
        if widget == "attachments":
            view.files = _files(user, view.value)
        views.append(view)
    return views


def uploads(form: forms.FormDefinition) -> list[attachments.Upload]:
    """The files sent in the form's attachment fields (read, not stored: the submission's service stores them)."""
    return [attachments.Upload(spec["name"], upload.stream, upload.filename)
            for spec in form.fields if spec.get("widget") == "attachments"
            for upload in request.files.getlist(spec["name"])
            if upload and upload.filename]  # an empty file input is sent as a part without a name


def typed_values(form: forms.FormDefinition) -> dict[str, Any]:
    """What the user typed into the form (files they uploaded before included, files sent now not)."""
    return forms.coerce_form_input(form, request.form.getlist)
