"""Timer events that read the application's clock instead of the wall clock.

SpiffWorkflow 3.2.0 decides whether a timer has fired by comparing its fire time with
``datetime.now(UTC)`` (``bpmn/specs/event_definitions/timer.py``), and computes
duration and cycle timers from it too.  Tests and a catching-up scheduler need the engine to
see the same time as the rest of the application, so the three timer kinds are subclassed
here to read the clock carried by the workflow's script engine (``make_script_engine(clock=)``),
and the parser below builds these subclasses instead of the stock ones.

Two further differences from the stock classes, both deliberate:

- a timer fires when its time has come (``<=``), not one tick later;
- a ``timeDate`` expression may yield ``None`` (or an empty string): the timer is then disarmed
  and never fires.  ``supervision_deadline + "T23:59:59+08:00" if listed else None`` attaches a
  deadline only to listed hazards.  Naive datetimes are UTC (the stock class used the server's
  local zone, which made the fire time depend on where the server runs).
"""
from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    StartEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util import PendingBpmnEvent
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffIntermediateThrowEventParser,
    SpiffStartEventParser,
)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

NEVER = "never"  # stored as the event value of a disarmed timer


def clock_of(my_task: Any) -> datetime:
    """The time as the workflow's script engine sees it (the application's clock)."""
    read = getattr(my_task.workflow.script_engine, "clock", None)
    return read() if read is not None else datetime.now(UTC)


def to_utc(value: Any) -> datetime:
    """An ISO string, datetime or date as an aware UTC datetime (naive means UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, datetime.min.time())
    else:
        moment = datetime.fromisoformat(str(value).strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@lru_cache(maxsize=512)
def expression_names(expression: str) -> frozenset[str]:
    """The data names a timer expression reads (to know which timers a data change moves)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return frozenset()
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


def rearm(my_task: Any) -> None:
    """Forget a waiting timer's computed fire time so that it is evaluated again from task data."""
    my_task.internal_data.pop("event_value", None)
    my_task.internal_data.pop("event_fired", None)


class ClockTimeDateEventDefinition(TimeDateEventDefinition):
    """A timer at a date and time, e.g. the rectification deadline."""

    def has_fired(self, my_task: Any) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            result = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            value = NEVER if result in (None, "") else to_utc(result).isoformat()
            my_task._set_internal_data(event_value=value)
        if value != NEVER and to_utc(value) <= clock_of(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)

    def details(self, my_task: Any) -> PendingBpmnEvent:
        value = my_task._get_internal_data("event_value")
        return PendingBpmnEvent(self.name, self.__class__.__name__, None if value == NEVER else value)


class ClockDurationTimerEventDefinition(DurationTimerEventDefinition):
    """A timer a duration after the event is reached, e.g. the 10 days to verify."""

    def has_fired(self, my_task: Any) -> bool:
        value = my_task._get_internal_data("event_value")
        now = clock_of(my_task)
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            value = (now + TimerEventDefinition.get_timedelta_from_start(parsed, now)).isoformat()
            my_task._set_internal_data(event_value=value)
        if to_utc(value) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockCycleTimerEventDefinition(CycleTimerEventDefinition):
    """A repeating timer (``R3/P1D``); each due repetition fires once per refresh."""

    def cycle_complete(self, my_task: Any) -> bool:
        value = my_task._get_internal_data("event_value")
        now = clock_of(my_task)
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = self._parse_cycle(expression, now)
            value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if value["cycles"] != 0:
            next_event = to_utc(value["next"])
            if next_event <= now:
                value["next"] = (next_event + timedelta(seconds=value["duration"])).isoformat()
                value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=value)
        return ready

    @staticmethod
    def _parse_cycle(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
        components = expression.upper().replace("--", "/").strip("R").split("/")
        if len(components) == 2 and components[1].startswith("P"):
            # Only an interval: the stock class starts it from the wall clock; start from ours.
            cycles = int(components[0]) if components[0] else -1
            duration = TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(components[1]), now)
            return cycles, now + duration, duration
        return TimerEventDefinition.parse_iso_recurring_interval(expression)


CLOCKED: dict[type, type] = {
    TimeDateEventDefinition: ClockTimeDateEventDefinition,
    DurationTimerEventDefinition: ClockDurationTimerEventDefinition,
    CycleTimerEventDefinition: ClockCycleTimerEventDefinition,
}

# The spec is never serialized with an instance (see runtime.py), but a full serialization must
# still know these classes; they serialize exactly like the stock ones.
SERIALIZER_CONFIG: dict[type, type] = {cls: TimerConditionalEventDefinitionConverter for cls in CLOCKED.values()}


class _ClockTimers:
    """Parser mixin: build the clock-reading timer classes."""

    def parse_timer_event(self, event):
        stock = super().parse_timer_event(event)
        return CLOCKED[type(stock)](stock.name, stock.expression, description=stock.description)


class _StartEventParser(_ClockTimers, SpiffStartEventParser):
    pass


class _IntermediateCatchEventParser(_ClockTimers, SpiffIntermediateCatchEventParser):
    pass


class _IntermediateThrowEventParser(_ClockTimers, SpiffIntermediateThrowEventParser):
    pass


class _BoundaryEventParser(_ClockTimers, SpiffBoundaryEventParser):
    pass


class ClockBpmnParser(SpiffBpmnParser):
    """SpiffBpmnParser whose timer events read the application's clock."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (_StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (_IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_IntermediateThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_BoundaryEventParser, BoundaryEvent),
    }
