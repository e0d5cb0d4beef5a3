"""What a new version of a process changes, said the way an administrator would: step names and old → new values.

`summarize` turns the element-by-element comparison (engine.diagram.compare) into sentences in the user's
language — "Time limit “整改期限” of “整改”: 10 days → 7 days", "Step renamed: “验收核查” → “局领导核查”",
"New lane “局领导”" — for the designer's summary before deploying and the version diff page. `what_changes`
says the same for one running hazard about to move to the new version (migration preview).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.engine.diagram import Diagram, DiagramDiff, Element
from app.services import forms
from app.services.errors import NotFound

KINDS = {
    "userTask": _l("Step"), "manualTask": _l("Step"), "task": _l("Task"), "scriptTask": _l("Automatic step"),
    "exclusiveGateway": _l("Decision point"), "inclusiveGateway": _l("Decision point"), "parallelGateway": _l("Split/join"),
    "startEvent": _l("Start"), "endEvent": _l("End"), "boundaryEvent": _l("Time limit"),
    "intermediateCatchEvent": _l("Wait"), "sequenceFlow": _l("Path"), "subProcess": _l("Sub-process"),
    "callActivity": _l("Sub-process"),
}
_DURATION = re.compile(r"""^\s*["']?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"""
                       r"""(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?["']?\s*$""")


@dataclass
class ChangeLine:
    """One change, as a sentence; `before`/`after` hold the old and new values it names (for a two-column view)."""

    change: str            # added, removed, changed
    element_id: str | None
    text: str
    before: str | None = None
    after: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def duration_text(expression: str | None) -> str:
    """A timer expression in words: `"P10D"` -> "10 days" (10天); anything else is shown as written."""
    if not expression:
        return "—"
    match = _DURATION.match(expression)
    if not match or not any(match.groupdict().values()):
        return expression.strip()
    units = {
        "years": lambda n: ngettext("%(num)d year", "%(num)d years", n),
        "months": lambda n: ngettext("%(num)d month", "%(num)d months", n),
        "weeks": lambda n: ngettext("%(num)d week", "%(num)d weeks", n),
        "days": lambda n: ngettext("%(num)d day", "%(num)d days", n),
        "hours": lambda n: ngettext("%(num)d hour", "%(num)d hours", n),
        "minutes": lambda n: ngettext("%(num)d minute", "%(num)d minutes", n),
        "seconds": lambda n: ngettext("%(num)d second", "%(num)d seconds", n),
    }
    parts = [units[name](int(value)) for name, value in match.groupdict().items() if value]
    return ("" if _zh() else " ").join(parts)


def _zh() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def form_title(key: str | None) -> str:
    """A form's title in the user's language (its key when it has none or does not exist)."""
    if not key:
        return "—"
    try:
        title = forms.get_form(key).title
    except NotFound:
        return key
    return (title.get("zh" if _zh() else "en") or title.get("en") or title.get("zh") or key) if title else key


def _kind(element: Element) -> str:
    return str(KINDS.get(element.type, element.type))


def _named(element: Element, diagram: Diagram | None = None) -> str:
    """“name” of an element; a path without a name is “from → to”; never its element id when avoidable."""
    if element.name:
        return f"“{element.name}”"
    if element.type == "sequenceFlow" and diagram is not None:
        source, target = diagram.elements.get(element.source or ""), diagram.elements.get(element.target or "")
        return f"“{_plain(source)} → {_plain(target)}”"
    if element.type == "boundaryEvent" and diagram is not None and element.attached_to in diagram.elements:
        return _("of %(step)s", step=_named(diagram.elements[element.attached_to]))
    return f"“{_kind(element)}”"


def _plain(element: Element | None) -> str:
    return (element.name or _kind(element)) if element is not None else "?"


def _timer_text(element: Element) -> str:
    return duration_text(element.timer) if element.timer_kind == "timeDuration" else (element.timer or "—")


def lanes(diagram: Diagram) -> list[str]:
    """The lanes that hold a step, in document order."""
    return list(dict.fromkeys(e.lane for e in diagram.elements.values() if e.lane))


def _added(element: Element, new: Diagram) -> ChangeLine:
    name = _named(element, new)
    if element.type == "sequenceFlow":
        text = _("New path %(name)s", name=name)
        if element.condition:
            text += " " + _("(taken when %(condition)s)", condition=element.condition)
    elif element.type == "boundaryEvent" and element.timer:
        text = _("New time limit %(name)s: %(value)s", name=name, value=_timer_text(element))
    else:
        text = _("New %(kind)s %(name)s", kind=_kind(element).lower() if not _zh() else _kind(element), name=name)
        details = []
        if element.lane:
            details.append(_("done by %(lane)s", lane=element.lane))
        if element.form_key:
            details.append(_("form %(form)s", form=form_title(element.form_key)))
        if details:
            text += " (" + ("，" if _zh() else ", ").join(details) + ")"
    return ChangeLine("added", element.id, text)


def _field_change(field: str, before: object, after: object, element: Element, old_element: Element,
                  new: Diagram, old: Diagram, status_label: Callable[[str | None], str]) -> ChangeLine:
    name = _named(element, new)
    kind = _kind(element)

    def line(text: str, b: object, a: object) -> ChangeLine:
        return ChangeLine("changed", element.id, text, "—" if b in (None, "") else str(b),
                          "—" if a in (None, "") else str(a))

    if field == "name":
        return line(_("%(kind)s renamed", kind=kind), old_element.name, element.name)
    if field in ("timer", "timer_kind"):
        return line(_("Time limit %(name)s", name=name), _timer_text(old_element), _timer_text(element))
    if field == "lane":
        return line(_("Who does %(name)s", name=name), before, after)
    if field == "form_key":
        return line(_("Form of %(name)s", name=name), form_title(before), form_title(after))  # type: ignore[arg-type]
    if field == "status":
        return line(_("Hazard status at %(name)s", name=name), status_label(before), status_label(after))  # type: ignore[arg-type]
    if field == "condition":
        return line(_("Condition of path %(name)s", name=name), before, after)
    if field in ("source", "target"):
        b, a = old.elements.get(str(before or "")), new.elements.get(str(after or ""))
        label = _("Path %(name)s starts at", name=name) if field == "source" else _("Path %(name)s leads to",
                                                                                        name=name)
        return line(label, _plain(b) if b else before, _plain(a) if a else after)
    if field == "default_flow":
        b, a = old.elements.get(str(before or "")), new.elements.get(str(after or ""))
        return line(_("Default path of %(name)s", name=name), _plain(b) if b else before, _plain(a) if a else after)
    if field == "type":
        return line(_("Kind of %(name)s", name=name), _kind(old_element), kind)
    if field == "documentation":
        return line(_("Description of %(name)s", name=name), before, after)
    if field in ("script", "pre_script", "post_script"):
        return line(_("Script of %(name)s", name=name), before, after)
    if field == "attached_to":
        b, a = old.elements.get(str(before or "")), new.elements.get(str(after or ""))
        return line(_("%(name)s is attached to", name=name), _plain(b) if b else before, _plain(a) if a else after)
    if field == "properties":
        old_props, new_props = dict(before or ()), dict(after or ())  # type: ignore[call-overload]
        keys = sorted(set(old_props) | set(new_props), key=str)
        changed = [k for k in keys if old_props.get(k) != new_props.get(k)]
        return line(_("Settings of %(name)s", name=name),
                    "; ".join(f"{k} = {old_props[k]}" for k in changed if k in old_props) or None,
                    "; ".join(f"{k} = {new_props[k]}" for k in changed if k in new_props) or None)
    return line(f"{name}: {field}", before, after)


def _identity(value: str | None) -> str:
    return value or "—"


def summarize(old: Diagram, new: Diagram, diff: DiagramDiff,
              status_label: Callable[[str | None], str] | None = None) -> list[ChangeLine]:
    """Every change from `old` to `new` as sentences with old → new values, in the user's language."""
    status_label = status_label or _identity
    lines = [ChangeLine("added", None, _("New lane “%(lane)s”", lane=lane))
             for lane in lanes(new) if lane not in lanes(old)]
    lines += [ChangeLine("removed", None, _("Lane “%(lane)s” removed", lane=lane))
              for lane in lanes(old) if lane not in lanes(new)]
    lines += [_added(e, new) for e in diff.added]
    lines += [ChangeLine("removed", e.id, _("%(kind)s %(name)s removed", kind=_kind(e), name=_named(e, old)))
              for e in diff.removed]
    for change in diff.changed:
        element, old_element = new.elements[change.id], old.elements[change.id]
        fields = list(change.changes)
        if "timer" in fields and "timer_kind" in fields:
            fields.remove("timer_kind")
        for field in fields:
            before, after = change.changes[field]
            lines.append(_field_change(field, before, after, element, old_element, new, old, status_label))
    return lines


# ------------------------------------------------------------------------------------- one running hazard
def _ahead(diagram: Diagram, starts: Iterable[str]) -> set[str]:
    """The elements reachable from `starts` along paths (and through time limits attached to them)."""
    outgoing: dict[str, list[str]] = {}
    for e in diagram.elements.values():
        if e.type == "sequenceFlow" and e.source and e.target:
            outgoing.setdefault(e.source, []).append(e.target)
        if e.attached_to:
            outgoing.setdefault(e.attached_to, []).append(e.id)
    seen: set[str] = set()
    todo = [s for s in starts if s in diagram.elements]
    while todo:
        current = todo.pop()
        for nxt in outgoing.get(current, []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def step_name(diagram: Diagram, element_id: str) -> str:
    element = diagram.elements.get(element_id)
    return _plain(element) if element is not None else _("a step no longer in the diagram")


def what_changes(old: Diagram, new: Diagram, waiting_at: list[str],
                 status_label: Callable[[str | None], str] | None = None) -> list[str]:
    """For a hazard waiting at `waiting_at` (element ids of `old`) moved to `new`: what will be different for it."""
    status_label = status_label or _identity
    out: list[str] = []
    human = [w for w in waiting_at if w in new.elements and new.elements[w].type not in ("sequenceFlow",)]
    for element_id in human:
        before, after = old.elements.get(element_id), new.elements[element_id]
        if before is not None and before.name != after.name and after.name:
            out.append(_("It will be at the step “%(new)s” (was “%(old)s”).", new=after.name,
                         old=before.name or _kind(before)))
        elif after.type in ("userTask", "manualTask", "task"):
            out.append(_("It will be at the step “%(step)s”.", step=_plain(after)))
        if before is not None and before.form_key != after.form_key:
            out.append(_("Its open task will show the form %(new)s instead of %(old)s.",
                         new=form_title(after.form_key), old=form_title(before.form_key)))
        if before is not None and before.lane != after.lane and after.lane:
            out.append(_("Its open task will go to %(new)s instead of %(old)s.", new=after.lane,
                         old=before.lane or "—"))
        if before is not None and before.status != after.status:
            out.append(_("Its status will be %(new)s instead of %(old)s.", new=status_label(after.status),
                         old=status_label(before.status)))
        for timer in (e for e in new.elements.values() if e.attached_to == element_id and e.timer):
            old_timer = old.elements.get(timer.id)
            if old_timer is not None and (old_timer.timer, old_timer.timer_kind) != (timer.timer, timer.timer_kind):
                out.append(_("Time limit %(name)s: %(old)s → %(new)s. The timer already running keeps its due date; "
                             "the new limit applies when the step starts again.", name=_named(timer, new),
                             old=_timer_text(old_timer), new=_timer_text(timer)))
        if after.timer and before is not None and before.timer != after.timer:
            out.append(_("It waits at the timer %(name)s: %(old)s → %(new)s; the wait already running keeps its "
                         "time.", name=_named(after, new), old=_timer_text(before), new=_timer_text(after)))
    added_steps = [e for e in new.elements.values()
                   if e.id not in old.elements and e.type in ("userTask", "manualTask", "task", "scriptTask")]
    ahead = _ahead(new, human)
    for step in added_steps:
        if step.id in ahead:
            out.append(_("Later it will also go through the new step “%(step)s”.", step=_plain(step)))
        else:
            out.append(_("The new step “%(step)s” comes before where it is: it will not go through it.",
                         step=_plain(step)))
    return out
