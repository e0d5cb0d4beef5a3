"""The designer's condition builder: the fields a gateway's conditions can test, and the expressions it writes.

A condition on a flow leaving a gateway is a Python expression the engine evaluates over the task data
(`bureau_decision == "return"`). The builder offers the fields of the forms filled in before the gateway
(the browser finds those steps in the diagram and sends their form keys), an operator that fits the field,
and a value (a field's own choices where it has them); it writes the expression, and reads an expression it
wrote back into field, operator and value so that the builder can show it again.
"""
from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from app.services import forms
from app.services.errors import NotFound, ValidationFailed

MAX_FORMS = 50
MAX_VALUE = 200
MAX_VALUES = 50
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Operator -> the Python comparison it writes; which field kinds may use it.
OPERATORS = {"is": "==", "is_not": "!=", "one_of": "in", "gt": ">", "lt": "<", "ge": ">=", "le": "<="}
ORDERED = ("gt", "lt", "ge", "le")
KIND_OPERATORS = {
    "choice": ("is", "is_not", "one_of"),
    "text": ("is", "is_not", "one_of"),
    "boolean": ("is",),
    "number": ("is", "is_not", "gt", "lt", "ge", "le"),
    "date": ("is", "is_not", "gt", "lt", "ge", "le"),
}
_WIDGET_KINDS = {"select": "choice", "radio": "choice", "checkbox": "boolean", "number": "number", "money": "number",
                 "date": "date"}
_COMPARISONS = {ast.Eq: "is", ast.NotEq: "is_not", ast.In: "one_of", ast.Gt: "gt", ast.Lt: "lt", ast.GtE: "ge",
                ast.LtE: "le"}


@dataclass
class ConditionField:
    """One data key a condition can test, as the form that collects it describes it."""

    name: str
    label: str
    kind: str
    form_key: str
    form_title: str
    choices: list[dict[str, str]] = field(default_factory=list)
    operators: tuple[str, ...] = ()


def _text(labels: Any, locale: str, fallback: str) -> str:
    if isinstance(labels, dict):
        return str(labels.get(locale) or labels.get("en") or labels.get("zh") or fallback)
    return str(labels or fallback)


def _locale() -> str:
    locale = get_locale()
    return "zh" if locale is not None and locale.language == "zh" else "en"


def _kind(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    kind = _WIDGET_KINDS.get(spec.get("widget", ""))
    if kind is None and (spec.get("choices") or schema.get("enum")):
        kind = "choice"
    if kind is None and schema.get("type") in ("number", "integer"):
        kind = "number"
    if kind is None and schema.get("type") == "boolean":
        kind = "boolean"
    return kind or "text"


def condition_fields(form_keys: list[str]) -> list[ConditionField]:
    """The fields of these forms (active versions) that a condition can test, in form order, each name once."""
    if len(form_keys) > MAX_FORMS:
        raise ValidationFailed(_("Too many forms: send at most %(n)d.", n=MAX_FORMS),
                               fields={"form": _("Send at most %(n)d forms.", n=MAX_FORMS)})
    locale = _locale()
    found: dict[str, ConditionField] = {}
    for key in dict.fromkeys(form_keys):
        if not isinstance(key, str) or not forms.valid_key(key):
            continue
        try:
            form = forms.get_form(key)
        except NotFound:
            continue
        title = _text(form.title, locale, key)
        properties = form.schema.get("properties", {}) if isinstance(form.schema, dict) else {}
        for spec in form.fields:
            name = spec.get("name")
            if not isinstance(name, str) or not name.isidentifier() or name in found:
                continue
            schema = properties.get(name, {}) if isinstance(properties.get(name), dict) else {}
            if spec.get("widget") in ("attachments", "person") or schema.get("type") == "array":
                continue
            kind = _kind(spec, schema)
            choices = [{"value": str(c.get("value")), "label": _text(c.get("label"), locale, str(c.get("value")))}
                       for c in spec.get("choices", []) if isinstance(c, dict) and "value" in c]
            if not choices and schema.get("enum"):
                choices = [{"value": str(v), "label": str(v)} for v in schema["enum"]]
            found[name] = ConditionField(name, _text(spec.get("label"), locale, name), kind, key, title, choices,
                                         KIND_OPERATORS[kind])
    return list(found.values())


def _refuse(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The condition cannot be built: fix the fields marked."), fields={name: message})


def _literal(spec: ConditionField, raw: str) -> str:
    """One value as a Python literal of the field's kind (checked against its choices when it has them)."""
    value = raw.strip()
    if not value or len(value) > MAX_VALUE or "\x00" in value:
        raise _refuse("value", _("Enter a value (at most %(n)d characters).", n=MAX_VALUE))
    if spec.choices and value not in {c["value"] for c in spec.choices}:
        raise _refuse("value", _("Choose one of the choices of %(field)s.", field=spec.label))
    if spec.kind == "number":
        try:
            number = float(value)
        except ValueError:
            raise _refuse("value", _("%(field)s is a number: enter a number such as 3 or 2.5.",
                                     field=spec.label)) from None
        if not math.isfinite(number):
            raise _refuse("value", _("%(field)s is a number: enter a number such as 3 or 2.5.", field=spec.label))
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    if spec.kind == "date" and not DATE.match(value):
        raise _refuse("value", _("%(field)s is a date: enter it as YYYY-MM-DD.", field=spec.label))
    if spec.kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise _refuse("value", _("%(field)s is a tick box: choose ticked or not ticked.", field=spec.label))
        return "True" if value.lower() == "true" else "False"
    return json.dumps(value, ensure_ascii=False)


def build_expression(fields: list[ConditionField], name: str, operator: str, values: list[str]) -> str:
    """The Python expression for `field operator value(s)`, checked against the field's kind and choices."""
    spec = next((f for f in fields if f.name == name), None)
    if spec is None:
        raise _refuse("field", _("Choose a field of a form filled in before this gateway."))
    if operator not in spec.operators:
        raise _refuse("operator", _("This comparison does not fit %(field)s; choose another.", field=spec.label))
    values = [v for v in values if isinstance(v, str) and v.strip()]
    if not values or (operator != "one_of" and len(values) != 1) or len(values) > MAX_VALUES:
        raise _refuse("value", _("Choose one value.") if operator != "one_of"
                      else _("Choose at least one value (at most %(n)d).", n=MAX_VALUES))
    literals = [_literal(spec, v) for v in values]
    if operator == "one_of":
        return f"{name} in [{', '.join(literals)}]"
    return f"{name} {OPERATORS[operator]} {literals[0]}"


def _constant(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool) and node.value is not None:
        if isinstance(node.value, bool):
            return "true" if node.value else "false"
        return str(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, int | float) and not isinstance(node.operand.value, bool):
        return f"-{node.operand.value}"
    return None


def read_expression(expression: str) -> dict[str, Any] | None:
    """Field, operator and values of an expression the builder could have written; None for anything else."""
    if not isinstance(expression, str) or len(expression) > 5000:
        return None
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.left, ast.Name)):
        return None
    operator = _COMPARISONS.get(type(tree.ops[0]))
    right = tree.comparators[0]
    if operator == "one_of":
        items = right.elts if isinstance(right, ast.List | ast.Tuple) else None
        values = [_constant(item) for item in items or []]
        if not values or None in values:
            return None
        return {"field": tree.left.id, "operator": operator, "values": values}
    value = _constant(right)
    if operator is None or value is None:
        return None
    return {"field": tree.left.id, "operator": operator, "values": [value]}


def builder(form_keys: list[str], name: str | None = None, operator: str | None = None,
            values: list[str] | None = None, expression: str | None = None) -> dict[str, Any]:
    """What the builder shows: the fields; the expression for a chosen field/operator/value; an expression read
    back into the builder's terms."""
    fields = condition_fields(form_keys)
    out: dict[str, Any] = {"fields": [asdict(f) for f in fields]}
    if name:
        out["expression"] = build_expression(fields, name, operator or "", values or [])
    if expression is not None:
        out["parsed"] = read_expression(expression)
    return out
