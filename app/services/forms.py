"""Form definitions (data in forms/) and validation of what people submit against them."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from flask_babel import gettext as _
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from app.clock import clock
from app.services.errors import NotFound, ValidationFailed


@dataclass(frozen=True)
class FormDefinition:
    key: str
    title: dict[str, str]
    description: dict[str, str]
    schema: dict[str, Any]
    fields: list[dict[str, Any]]

    def field(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["name"] == name), None)

    def label(self, name: str, locale: str) -> str:
        spec = self.field(name)
        return spec["label"].get(locale) or spec["label"].get("en") or name if spec else name

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "description": self.description,
                "schema": self.schema, "fields": self.fields}


_cache: dict[Path, tuple[float, FormDefinition]] = {}
_cache_lock = threading.Lock()


def forms_dir() -> Path:
    return Path(current_app.config["FORMS_DIR"])


def get_form(key: str) -> FormDefinition:
    """The definition of form `key` (re-read when its file changes)."""
    if not key or not all(c.isalnum() or c in "_-" for c in key):
        raise NotFound(_("There is no form named %(key)s.", key=key))
    path = forms_dir() / f"{key}.json"
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise NotFound(_("There is no form named %(key)s.", key=key)) from None
    with _cache_lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    raw = json.loads(path.read_text(encoding="utf-8"))
    form = FormDefinition(raw["key"], raw.get("title", {}), raw.get("description", {}), raw["schema"],
                          raw["fields"])
    with _cache_lock:
        _cache[path] = (mtime, form)
    return form


def list_forms() -> list[FormDefinition]:
    return [get_form(p.stem) for p in sorted(forms_dir().glob("*.json"))]


def _not_past_keyword(today: date) -> Callable:
    def check(validator, enabled, instance, schema):
        if not enabled or not isinstance(instance, str):
            return
        try:
            value = date.fromisoformat(instance)
        except ValueError:
            return  # the "format" keyword reports it
        if value < today:
            yield ValidationError("x-not-past", validator="x-not-past")
    return check


def _validator(schema: dict[str, Any], today: date) -> Draft202012Validator:
    cls = validators.extend(Draft202012Validator, {"x-not-past": _not_past_keyword(today)})
    return cls(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


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
    for error in sorted(_validator(form.schema, clock.now().date()).iter_errors(data), key=lambda e: e.path):
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
