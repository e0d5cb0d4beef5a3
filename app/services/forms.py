"""Form definitions (data in forms/) and validation of what people submit against them."""
from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.chinatime import parse_date, today, years_after
from app.clock import clock
from app.extensions import db
from app.models import FormVersion, HumanTask
from app.services import audit, immutable
from app.services.errors import Conflict, NotFound, ValidationFailed


@dataclass(frozen=True)
class FormDefinition:
    key: str
    title: dict[str, str]
    description: dict[str, str]
    schema: dict[str, Any]
    fields: list[dict[str, Any]]
    version_id: int | None = None   # the form_version row this definition came from
    number: int | None = None
    # The steps whose submissions the task page shows above this form, besides the diagram's predecessors:
    # each a step's element id or a form key, or {"step": ..., "fields": [...]} to show only those fields.
    evidence: tuple[Any, ...] = ()

    def field(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["name"] == name), None)

    def label(self, name: str, locale: str) -> str:
        spec = self.field(name)
        return spec["label"].get(locale) or spec["label"].get("en") or name if spec else name

    def as_dict(self) -> dict[str, Any]:
        """A copy the caller may change (the definition itself is shared by every request: it is cached)."""
        out = {"key": self.key, "title": self.title, "description": self.description, "schema": self.schema,
               "fields": self.fields}
        if self.evidence:
            out["evidence"] = list(self.evidence)
        return copy.deepcopy(out)


# Form definitions are versioned in the form_version table, installed from forms/<key>.json by
# `flask shipped install` (install_shipped). A shipped file that changes (a new release) becomes a new
# version at the next install, unless an administrator has edited the form since: their edit wins.
# Rows never change, so parsed definitions are cached.
_file_cache: dict[Path, tuple[float, str, str]] = {}
_parsed_cache: dict[tuple[int, str], FormDefinition] = {}
_cache_lock = threading.Lock()
MAX_FORM_BYTES = 200_000
WIDGETS = frozenset({"text", "textarea", "date", "select", "radio", "checkbox", "money", "number", "person",
                     "attachments"})
CHOICE_WIDGETS = frozenset({"select", "radio"})


def widget_names() -> list[tuple[str, str]]:
    """(widget, its name in the user's language), for the form editor."""
    names = {"text": _("Short text"), "textarea": _("Long text"), "date": _("Date"), "select": _("Drop-down list"),
             "radio": _("One of several (buttons)"), "checkbox": _("Yes / no (tick box)"), "money": _("Amount of money"),
             "number": _("Number"), "person": _("Person's name"), "attachments": _("Photos or files")}
    return [(w, names[w]) for w in sorted(WIDGETS)]
# What an uploaded file is evidence of: an attachments field names one (`evidenceKind`), and files are shown
# grouped by it.
EVIDENCE_KINDS = ("photo_before", "photo_after", "acceptance_report", "plan_document", "notice")


def forms_dir() -> Path:
    return Path(current_app.config["FORMS_DIR"])


def canonical_json(definition: dict[str, Any]) -> str:
    return json.dumps(definition, ensure_ascii=False, separators=(",", ":"))


def valid_key(key: str) -> bool:
    return bool(key) and len(key) <= 100 and all(c.isalnum() or c in "_-" for c in key) and key.isascii()


def _file_definition(key: str) -> tuple[str, str] | None:
    """(canonical JSON, sha256) of forms/<key>.json, re-read only when the file changes."""
    path = forms_dir() / f"{key}.json"
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    with _cache_lock:
        hit = _file_cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1], hit[2]
    text = canonical_json(json.loads(path.read_text(encoding="utf-8")))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with _cache_lock:
        _file_cache[path] = (mtime, text, digest)
    return text, digest


def _active_row(key: str) -> FormVersion | None:
    return db.session.scalar(select(FormVersion).where(FormVersion.key == key, FormVersion.active.is_(True)))


def _add_version(key: str, definition: str, digest: str, source: str, user_id: int | None,
                 note: str | None) -> FormVersion | None:
    """Insert the next version as the active one; None when a concurrent request got there first."""
    if has_request_context():
        g.pop("_active_form_rows", None)
    db.session.execute(update(FormVersion).where(FormVersion.key == key, FormVersion.active.is_(True))
                       .values(active=False))
    number = (db.session.scalar(select(func.max(FormVersion.number)).where(FormVersion.key == key)) or 0) + 1
    values = {"key": key, "number": number, "definition": definition, "sha256": digest, "source": source,
              "active": True, "created_by_id": user_id, "created_at": clock.now(), "note": note}
    dialect = db.session.get_bind().dialect.name
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING instead of a savepoint: two editors may save the same form at once.
    result = db.session.execute(insert_(FormVersion).values(**values).on_conflict_do_nothing()
                                .returning(FormVersion.id))
    new_id = result.scalar()
    return db.session.get(FormVersion, new_id) if new_id is not None else None


def active_form_version(key: str) -> FormVersion:
    """The active version of form `key` (a read: shipped forms are installed by `flask shipped install`)."""
    row = _active_row(key) if valid_key(key) else None
    if row is None:
        raise NotFound(_("There is no form named %(key)s.", key=key))
    return row


def install_shipped(key: str) -> str:
    """Install forms/<key>.json in the caller's transaction; says what it did.

    The first install adds it as version 1; a changed file (an upgrade of HazardLoop) becomes a new version
    while the active one came from the file; a version saved in the form editor is never replaced.
    """
    shipped = _file_definition(key)
    if shipped is None:
        raise NotFound(_("There is no form named %(key)s.", key=key))
    row = _active_row(key)
    if row is not None and row.sha256 == shipped[1]:
        return f"form {key}: version {row.number} is up to date"
    if row is not None and row.source != "file":
        return f"form {key}: kept version {row.number}, saved in the form editor"
    added = _add_version(key, shipped[0], shipped[1], "file", None, f"forms/{key}.json")
    return f"form {key}: installed version {added.number}" if added else f"form {key}: installed meanwhile"


def shipped_keys() -> list[str]:
    """The forms that ship in forms/."""
    return sorted(p.stem for p in forms_dir().glob("*.json") if valid_key(p.stem))


def _definition(row: FormVersion) -> FormDefinition:
    with _cache_lock:
        hit = _parsed_cache.get((row.id, row.sha256))
    if hit is not None:
        return hit
    raw = json.loads(row.definition)
    form = FormDefinition(raw["key"], raw.get("title", {}), raw.get("description", {}), raw["schema"],
                          raw["fields"], version_id=row.id, number=row.number,
                          evidence=tuple(raw.get("evidence") or ()))
    with _cache_lock:
        if len(_parsed_cache) > 512:
            _parsed_cache.clear()
        _parsed_cache[(row.id, row.sha256)] = form
    return form


def _active_rows() -> dict[str, int]:
    """key -> id of every active form version, read once per request (a small table)."""
    rows = g.get("_active_form_rows") if has_request_context() else None
    if rows is None:
        rows = {key: version_id for key, version_id in db.session.execute(
            select(FormVersion.key, FormVersion.id).where(FormVersion.active.is_(True)))}
        if has_request_context():
            g._active_form_rows = rows
    return rows


def get_form(key: str) -> FormDefinition:
    """The active definition of form `key` (what new tasks are given).

    The active versions are read once per request (list pages ask for the same form per row), their
    definitions come from the per-application cache of versions.
    """
    version_id = _active_rows().get(key)
    if version_id is None:
        raise NotFound(_("There is no form named %(key)s.", key=key))
    return form_version(version_id)


def form_version(version_id: int) -> FormDefinition:
    """One stored version of a form (the one a task was created with)."""
    def load() -> FormDefinition | None:
        row = db.session.get(FormVersion, version_id)
        return _definition(row) if row is not None else None

    form = immutable.lookup("form_version", version_id, load)
    if form is None:
        raise NotFound(_("This version of the form no longer exists."))
    return form


def active_version_id_clause(key: str | None):
    """The id of the active version of form `key` as a SQL expression, for the row written in the same statement
    (a task is given the form version that is active when it is written; NULL when there is no such form)."""
    return select(FormVersion.id).where(FormVersion.key == (key or ""), FormVersion.active.is_(True)) \
        .scalar_subquery()


def form_keys() -> list[str]:
    """Every form name: shipped forms once installed, and forms created in the editor."""
    return sorted(db.session.scalars(select(FormVersion.key).distinct()))


def list_forms() -> list[FormDefinition]:
    return [get_form(key) for key in form_keys()]


def _not_past(validator, enabled, instance, schema):
    """The `x-not-past` keyword: a date that must not lie before today (in China, by the clock)."""
    if not enabled or not isinstance(instance, str):
        return
    value = parse_date(instance)
    if value is None:
        return  # the "format" keyword reports it
    if value < today():
        yield ValidationError("x-not-past", validator="x-not-past")


def _not_future(validator, enabled, instance, schema):
    """The `x-not-future` keyword: a date that must not lie after today (when something was done)."""
    value = parse_date(instance) if enabled and isinstance(instance, str) else None
    if value is not None and value > today():
        yield ValidationError("x-not-future", validator="x-not-future")


def _max_years_ahead(validator, years, instance, schema):
    """The `x-max-years-ahead: N` keyword: a date at most N years after today (a deadline someone can keep)."""
    value = parse_date(instance) if isinstance(years, int) and isinstance(instance, str) else None
    if value is not None and value > years_after(today(), years):
        yield ValidationError("x-max-years-ahead", validator="x-max-years-ahead")


# Built once: jsonschema's extend() creates a new class (with attrs code generation) on each call.
_Validator = validators.extend(Draft202012Validator, {
    "x-not-past": _not_past, "x-not-future": _not_future, "x-max-years-ahead": _max_years_ahead})


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _message(error: ValidationError) -> str:
    kind = error.validator
    value = error.validator_value
    if kind == "required":
        return _("This field is required.")
    if kind == "type":
        names = {"string": _("text"), "number": _("a number"), "integer": _("a whole number"),
                 "boolean": _("yes or no"), "array": _("a list"), "object": _("an object")}
        wanted = value if isinstance(value, str) else value[0]
        return _("Enter %(kind)s here.", kind=names.get(wanted, wanted))
    if kind == "enum":
        return _("Choose one of: %(choices)s.", choices=", ".join(str(v) for v in value))
    if kind == "const":
        return _("This must be confirmed (checked) to continue.") if value is True else _("Not allowed here.")
    if kind == "minLength":
        return _("This field is required.") if value <= 1 else _("Enter at least %(n)d characters.", n=value)
    if kind == "maxLength":
        return _("Enter at most %(n)d characters.", n=value)
    if kind == "minimum":
        return _("Enter a number of at least %(n)s.", n=value)
    if kind == "maximum":
        return _("Enter a number of at most %(n)s.", n=value)
    if kind == "minItems":
        return _("Attach at least %(n)d file(s).", n=value)
    if kind == "maxItems":
        return _("Attach at most %(n)d file(s).", n=value)
    if kind == "format" and value == "date":
        return _("Enter a valid date as YYYY-MM-DD.")
    if kind == "x-not-past":
        return _("The date cannot be in the past.")
    if kind == "x-not-future":
        return _("The date cannot be in the future; enter the day it was done.")
    if kind == "x-max-years-ahead":
        return _("Choose a date at most %(n)d years from today (no later than %(latest)s).", n=value,
                 latest=years_after(today(), value).isoformat())
    if kind == "additionalProperties":
        return _("This form has no such field.")
    return _("This value is not valid.")


def _field_of(error: ValidationError) -> str:
    if error.validator == "required":
        # "'x' is a required property": the missing name is in the message, not the path.
        return error.message.split("'")[1] if "'" in error.message else "_form"
    if error.validator == "additionalProperties":
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        return extra[0] if extra else "_form"
    return str(error.absolute_path[0]) if error.absolute_path else "_form"


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Trim text and drop empty values, so 'left blank' means 'not given' everywhere."""
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        if value is None:
            continue
        clean[key] = value
    return clean


def validate(form: FormDefinition, data: Any,
             check_attachments: Callable[[str, list[int], str], str | None] | None = None) -> dict[str, Any]:
    """Return the cleaned data, or raise ValidationFailed with a message per field."""
    if not isinstance(data, dict):
        raise ValidationFailed(_("The form data must be an object of field names and values."))
    data = normalize(data)
    errors: dict[str, str] = {}
    for error in sorted(_validator(form.schema).iter_errors(data), key=lambda e: e.path):
        name = _field_of(error)
        errors.setdefault(name, _message(error))
    if check_attachments is not None:
        for spec in form.fields:
            ids = data.get(spec["name"])
            if spec.get("widget") == "attachments" and isinstance(ids, list) and spec["name"] not in errors:
                problem = check_attachments(spec["name"], ids, spec.get("accept", "document"))
                if problem:
                    errors[spec["name"]] = problem
    if errors:
        raise ValidationFailed(_("Some fields need your attention."), fields=errors)
    return data


def coerce_form_input(form: FormDefinition, values: Callable[[str], list[str]]) -> dict[str, Any]:
    """Turn HTML form strings into typed values by widget; bad numbers stay text so the schema names them."""
    out: dict[str, Any] = {}
    for spec in form.fields:
        name, widget = spec["name"], spec.get("widget", "text")
        raw = values(name)
        if widget == "checkbox":
            out[name] = bool(raw) and raw[-1] not in {"", "0", "false", "off"}
            continue
        if widget == "attachments":
            ids = [v for v in raw if v.strip()]
            if ids:
                out[name] = [int(v) if v.strip().isdigit() else v for v in ids]
            continue
        value = raw[-1].strip() if raw else ""
        if value == "":
            continue
        if widget in {"money", "number"}:
            try:
                number = float(value.replace(",", ""))
                out[name] = int(number) if number.is_integer() and widget == "number" else number
            except ValueError:
                out[name] = value
        else:
            out[name] = value
    return out


# ------------------------------------------------------------------------------------ editing forms
def form_versions(key: str) -> list[FormVersion]:
    """Every stored version of a form, newest first (seeding it from its file first)."""
    active_form_version(key)
    return list(db.session.scalars(select(FormVersion).where(FormVersion.key == key)
                                   .order_by(FormVersion.number.desc())))


def _is_labels(value: Any, required: bool = True) -> bool:
    if value is None:
        return not required
    return (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
            and (not required or bool((value.get("zh") or value.get("en") or "").strip())))


def check_definition(key: str, raw: Any) -> dict[str, str]:
    """What is wrong with a form definition an administrator wrote; {} means it can be saved."""
    if not isinstance(raw, dict):
        return {"_form": _("The form definition must be a JSON object.")}
    errors: dict[str, str] = {}
    if raw.get("key") != key:
        errors["key"] = _("The definition's key must be %(key)s.", key=key)
    if not _is_labels(raw.get("title")):
        errors["title"] = _("Give the form a title (Chinese and/or English).")
    if not _is_labels(raw.get("description"), required=False):
        errors["description"] = _("The description must map languages (zh, en) to text.")
    schema, fields = raw.get("schema"), raw.get("fields")
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        errors["schema"] = _("The schema must be a JSON Schema object with properties.")
        return errors
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # noqa: BLE001 - jsonschema raises SchemaError and friends; all mean "fix it"
        errors["schema"] = _("The schema is not valid JSON Schema: %(reason)s", reason=getattr(exc, "message", exc))
    properties = schema["properties"]
    for name in schema.get("required", []) or []:
        if name not in properties:
            errors["schema"] = _("The required field %(name)s is not defined.", name=name)
    if not isinstance(fields, list) or not fields:
        errors["fields"] = _("A form needs at least one field.")
        return errors
    seen: set[str] = set()
    for index, spec in enumerate(fields):
        where = f"fields.{index}"
        name = spec.get("name") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or not name.isascii():
            errors[where] = _("Field %(n)d needs a name made of letters, digits and _ (not starting with _).",
                              n=index + 1)
            continue
        where = f"fields.{name}"
        if name in seen:
            errors[where] = _("There are two fields named %(name)s.", name=name)
        seen.add(name)
        if spec.get("widget", "text") not in WIDGETS:
            errors[where] = _("Field %(name)s has an unknown widget; use one of: %(widgets)s.", name=name,
                              widgets=", ".join(sorted(WIDGETS)))
        elif not _is_labels(spec.get("label")):
            errors[where] = _("Field %(name)s needs a label.", name=name)
        elif name not in properties:
            errors[where] = _("Field %(name)s is not in the schema's properties.", name=name)
        elif spec.get("widget") in CHOICE_WIDGETS:
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices or not all(
                    isinstance(c, dict) and "value" in c and _is_labels(c.get("label")) for c in choices):
                errors[where] = _("Field %(name)s needs choices, each with a value and a label.", name=name)
            else:
                enum = properties[name].get("enum")
                if enum is not None and sorted(map(str, enum)) != sorted(str(c["value"]) for c in choices):
                    errors[where] = _("The choices of field %(name)s do not match its allowed values.", name=name)
        if spec.get("evidenceKind") is not None and spec.get("evidenceKind") not in EVIDENCE_KINDS:
            errors[where] = _("Field %(name)s names an unknown kind of evidence; use one of: %(kinds)s.",
                              name=name, kinds=", ".join(EVIDENCE_KINDS))
    for spec in fields:
        if (isinstance(spec, dict) and isinstance(spec.get("name"), str) and spec.get("showIf") is not None
                and (problem := _show_if_problem(spec, fields)) is not None):
            errors.setdefault(f"fields.{spec['name']}", problem)
    for index, clause in enumerate(schema.get("allOf") or []):
        if (problem := _rule_problem(clause, properties)) is not None:
            errors.setdefault("schema", _("Rule %(n)d of “required only when”: %(problem)s", n=index + 1,
                                          problem=problem))
    if (problem := _evidence_problem(raw.get("evidence"))) is not None:
        errors["evidence"] = problem
    for name in properties:
        if name not in seen:
            errors.setdefault("fields", _("The schema property %(name)s has no field to enter it.", name=name))
    return errors


def _allowed_values(spec: dict[str, Any]) -> list[Any] | None:
    """The values a field can take, when they are a short list (choices, or yes/no); None: any."""
    if spec.get("widget") in CHOICE_WIDGETS:
        return [c.get("value") for c in spec.get("choices") or [] if isinstance(c, dict)]
    if spec.get("widget") == "checkbox":
        return [True, False]
    return None


def _show_if_problem(spec: dict[str, Any], fields: list[Any]) -> str | None:
    """What is wrong with a field's “shown only when” rule: {"field": another field, "equals": one of its values}."""
    rule, name = spec["showIf"], spec["name"]
    if not isinstance(rule, dict) or set(rule) != {"field", "equals"}:
        return _("Field %(name)s: “shown only when” needs a field and a value.", name=name)
    other = next((f for f in fields if isinstance(f, dict) and f.get("name") == rule["field"]), None)
    if other is None or rule["field"] == name:
        return _("Field %(name)s is shown only when %(other)s has a value, but the form has no other field "
                 "named %(other)s.", name=name, other=rule["field"])
    allowed = _allowed_values(other)
    if allowed is not None and rule["equals"] not in allowed:
        return _("Field %(name)s is shown only when %(other)s is %(value)s, which %(other)s cannot be.",
                 name=name, other=rule["field"], value=rule["equals"])
    return None


def _rule_problem(clause: Any, properties: dict[str, Any]) -> str | None:
    """What is wrong with one `allOf` item; the editor writes {"if": {"properties": {f: {"const": v}},
    "required": [f]}, "then": {"required": [names]}} and hand-written JSON Schema is accepted as it is, as long
    as the fields it names exist."""
    if not isinstance(clause, dict):
        return _("each rule must be an object.")
    named = set()
    condition, then = clause.get("if"), clause.get("then")
    if isinstance(condition, dict):
        named |= set(condition.get("properties") or {}) | set(condition.get("required") or [])
    if isinstance(then, dict):
        named |= set(then.get("required") or [])
    unknown = sorted(n for n in named if n not in properties)
    if unknown:
        return _("it names %(names)s, which the form does not have.", names=", ".join(map(str, unknown)))
    return None


def _evidence_problem(evidence: Any) -> str | None:
    """What is wrong with a definition's `evidence` list (None: nothing)."""
    if evidence is None:
        return None
    fix = _("“evidence” must list steps: each a step or form name, or {\"step\": name, \"fields\": [names]}.")
    if not isinstance(evidence, list) or len(evidence) > 20:
        return fix
    for item in evidence:
        if isinstance(item, dict):
            fields = item.get("fields", [])
            if (not valid_key(str(item.get("step") or "")) or set(item) - {"step", "fields"}
                    or not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
                return fix
        elif not isinstance(item, str) or not valid_key(item):
            return fix
    return None


def save_form(user_id: int, key: str, raw: Any, note: str | None = None,
              guard: Callable[[dict[str, Any]], None] | None = None,
              after: Callable[[FormVersion], None] | None = None) -> FormVersion:
    """Store an edited definition as the new active version; running tasks keep the version they have.

    `guard(definition)` may refuse a valid definition (services/form_usage.py: what processes and waiting
    tasks use); `after(row)` runs in the same transaction once the version is added (re-issuing tasks)."""
    if not valid_key(key):
        raise ValidationFailed(_("Some fields need your attention."),
                               fields={"key": _("A form name may only use letters, digits, - and _.")})
    if isinstance(raw, dict):
        raw = {**raw, "key": raw.get("key", key)}
    if errors := check_definition(key, raw):
        raise ValidationFailed(_("The form cannot be saved."), fields=errors)
    text = canonical_json(raw)
    if len(text.encode("utf-8")) > MAX_FORM_BYTES:
        raise ValidationFailed(_("The form cannot be saved."),
                               fields={"_form": _("The form definition is too large.")})
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        current = active_form_version(key)
    except NotFound:
        current = None
    if current is not None and current.sha256 == digest:
        return current
    if guard is not None:
        guard(raw)
    row = _add_version(key, text, digest, "editor", user_id, (note or "").strip()[:500] or None)
    if row is None:
        raise Conflict(_("Someone else saved this form at the same moment; reload it and try again."))
    try:
        audit.record("form_saved", actor_id=user_id, data={"form": key, "number": row.number, "sha256": digest})
        if after is not None:
            after(row)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return row


def task_form(task: HumanTask) -> FormDefinition:
    """The form version the task was given (older tasks without one get the active version)."""
    if task.form_version_id is not None:
        return form_version(task.form_version_id)
    return get_form(task.form_key)
