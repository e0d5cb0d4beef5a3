"""Forms defined in forms/*.json as HTML: fields to render, and a submission (with its uploads) read back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request

from app.chinatime import today, years_after
from app.models import Attachment, HumanTask, User
from app.services import attachments, forms, tasks
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
    # What the browser is told to enforce too (the server checks the same): a text's length, a date's range.
    max_length: int | None = None
    min_date: str | None = None
    max_date: str | None = None

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
        _browser_limits(view, form.schema.get("properties", {}).get(name, {}))
        views.append(view)
    return views


def _browser_limits(view: FieldView, prop: dict[str, Any]) -> None:
    """The schema's limits as HTML attributes: a paste stops at maxLength, a date picker offers only the days
    the form accepts (x-not-past, x-not-future, x-max-years-ahead; see services/forms.py)."""
    if isinstance(prop.get("maxLength"), int):
        view.max_length = prop["maxLength"]
    if view.widget == "date":
        day = today()
        if prop.get("x-not-past"):
            view.min_date = day.isoformat()
        if prop.get("x-not-future"):
            view.max_date = day.isoformat()
        elif isinstance(prop.get("x-max-years-ahead"), int):
            view.max_date = years_after(day, prop["x-max-years-ahead"]).isoformat()


def uploads(form: forms.FormDefinition) -> list[attachments.Upload]:
    """The files sent in the form's attachment fields (read, not stored: the submission's service stores them)."""
    return [attachments.Upload(spec["name"], upload.stream, upload.filename)
            for spec in form.fields if spec.get("widget") == "attachments"
            for upload in request.files.getlist(spec["name"])
            if upload and upload.filename]  # an empty file input is sent as a part without a name


def typed_values(form: forms.FormDefinition) -> dict[str, Any]:
    """What the user typed into the form (files they uploaded before included, files sent now not)."""
    return forms.coerce_form_input(form, request.form.getlist)


# ------------------------------------------------------------------------------------------- open steps
@dataclass
class StepView:
    """An open step of a subject's process as its page shows it (the public report's and the periodic report's
    pages: every open step, each with its own form): a known one (its own UI on the page) or one rendered by the
    generic form renderer (field_views), its ids prefixed with its task's (`prefix`) so that two open at once on one
    page never share an id."""
    task: HumanTask
    known: str | None  # what a known step means (e.g. triage_forms.ANSWER); None: its own form, rendered here
    actionable: bool
    form: forms.FormDefinition | None = None
    fields: list = field(default_factory=list)
    refused: str | None = None

    @property
    def prefix(self) -> str:
        return f"t{self.task.id}-"


def step_views(user: User, open_tasks: list[HumanTask], step_id: int | None = None,
               values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
               refused: str | None = None, known=lambda task: None) -> list[StepView]:
    """Every open step with what the page shows of it: `step_id` is the one just submitted (its values, errors or
    the reason it was refused shown again); `known(task)` names a step the page does with its own UI."""
    views = []
    for task in open_tasks:
        view = StepView(task, known(task), tasks.may_act(user, task))
        if view.known is None:
            view.form = tasks.shown_form(task)
            mine = task.id == step_id
            if view.actionable:
                view.fields = field_views(view.form, user, values if mine else None, errors if mine else None)
            view.refused = refused if mine else None
        views.append(view)
    return views
