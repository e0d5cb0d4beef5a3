"""Errors the engine raises; none of them carries a SpiffWorkflow object."""


class EngineError(Exception):
    """The workflow could not advance (a failing condition, script or timer expression).

    `element_id`: the BPMN element it failed on, when the engine says (a gateway, a script task, ...).
    """

    def __init__(self, message: str = "", element_id: str | None = None):
        super().__init__(message)
        self.element_id = element_id


class DiagramError(EngineError):
    """A diagram could not be parsed; `problems` lists (element id or None, message)."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{el or 'diagram'}: {msg}" for el, msg in problems))


class TaskNotReady(EngineError):
    """The task is not waiting for a person (already done, cancelled, or not yet reached)."""
