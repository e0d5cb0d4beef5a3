"""The SpiffWorkflow adapter: the only package that imports SpiffWorkflow.

Everything above it sees plain data: XML strings, JSON state strings, dataclasses.
"""
from app.engine.errors import DiagramError, EngineError, TaskNotReady
from app.engine.runtime import ProcessRuntime, Snapshot, TimerInfo, UserTaskInfo, runtime_for
from app.engine.specs import ParsedProcess, UserTaskMeta, parse_process

__all__ = [
    "DiagramError", "EngineError", "ParsedProcess", "ProcessRuntime", "Snapshot", "TaskNotReady",
    "TimerInfo", "UserTaskInfo", "UserTaskMeta", "parse_process", "runtime_for",
]
