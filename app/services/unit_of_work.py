"""One unit of work for every instance step: lock → run → apply → audit → commit → map errors.

Every change to a process instance and its hazard runs here: reporting a hazard (its instance starts),
completing, claiming, releasing or delegating a task, asking for and deciding an extension, migrating
an instance to another version, recording a timer's failure.  `instance_step` takes the instance's
lock, reads what the step works on *under* that lock (the hazard with its audit-chain head, the open
human tasks), hands an `InstanceStep` to the caller, commits, and turns every way a step can lose a
race or be refused by the engine into a `Conflict` (HTTP 409) with nothing written.

The scheduler claims many instances at once (`FOR UPDATE … SKIP LOCKED` in services/timers.py, its
lock) and fires each through the same `InstanceStep`; the batch is its transaction.

The lock discipline: PostgreSQL row lock on `process_instance` (`SELECT … FOR UPDATE`, bounded by the
connection's `lock_timeout`), and on every database the instance's version column, so that a writer
that read a stale state matches no row at commit.  A hazard's audit chain (its head is kept on the
hazard row) is written only under its instance lock.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.exc import StaleDataError

from app import metrics
from app.clock import clock
from app.engine import EngineError, ProcessRuntime, Snapshot, TaskNotReady
from app.extensions import commit_keeping_objects, db
from app.models import (
    Hazard,
    HumanTask,
    PeriodicReport,
    ProcessInstance,
    ProcessVersion,
    PublicReport,
    StepFailure,
    TaskStatus,
)
from app.services import audit, lifecycle, notifications, processes, subjects
from app.services.errors import Conflict, NotFound, ProcessBroken, Unavailable


class InstanceStep:
    """One locked instance, its subject and open tasks as read under the lock, and its runtime (loaded once).

    The subject (services/subjects.py) is a hazard, or an instance that is not a hazard's: the enterprise's
    periodic report or a public report's triage — the same step, written back to the subject's read model
    (lifecycle.SNAPSHOT_APPLIERS) and audited in the subject's chain.
    """

    def __init__(self, instance: ProcessInstance, subject: subjects.Subject | None,
                 open_tasks: dict[str, HumanTask] | None = None, task: HumanTask | None = None) -> None:
        self.instance = instance
        self.subject = subject
        self.open_tasks = open_tasks  # by engine task UUID; None: read again when applying
        self.task = task              # the task the step was asked for (instance_step(task_id=...))
        self.opened: list[HumanTask] = []  # tasks the step opened, announced to their people before commit
        self._runtime: ProcessRuntime | None = None

    @property
    def hazard(self) -> Hazard | None:
        return self.subject if isinstance(self.subject, Hazard) else None

    @property
    def report(self) -> PeriodicReport | None:
        return self.subject if isinstance(self.subject, PeriodicReport) else None

    @property
    def public_report(self) -> PublicReport | None:
        return self.subject if isinstance(self.subject, PublicReport) else None

    @property
    def runtime(self) -> ProcessRuntime:
        """The runtime of the instance's version, looked up once per step."""
        if self._runtime is None:
            self._runtime = processes.runtime_for_version(self.instance.version_id)
        return self._runtime

    def run(self, call: Callable[[ProcessRuntime, str], Snapshot], *, actor_id: int | None,
            completed_task_uuid: str | None = None) -> list[HumanTask]:
        """Run the engine on the instance's state (`call(runtime, state)`) and apply what it returns."""
        return self.apply(call(self.runtime, self.instance.state), actor_id=actor_id,
                          completed_task_uuid=completed_task_uuid)

    def apply(self, snapshot: Snapshot, *, actor_id: int | None, completed_task_uuid: str | None = None,
              runtime: ProcessRuntime | None = None) -> list[HumanTask]:
        """Write an engine snapshot back (state, tasks, timers, read model); returns the tasks it opened.

        `runtime`: the version the snapshot belongs to when it is not the instance's current one (a
        migration switches the instance to it).
        """
        if runtime is not None:
            self._runtime = runtime
        applier = lifecycle.SNAPSHOT_APPLIERS[subjects.kind_of(self.subject).name]
        created = applier(self.instance, self.subject, snapshot, parsed=self.runtime.parsed,
                          completed_task_uuid=completed_task_uuid, actor_id=actor_id, open_rows=self.open_tasks)
        self.open_tasks = None  # changed by the step: read again if the caller applies another snapshot
        self.opened.extend(created)
        return created

    def start(self, version: ProcessVersion, data: dict[str, Any], *, actor_id: int | None) -> list[HumanTask]:
        """Start the subject's instance on `version` (the instance is new: nobody else can hold it)."""
        self._runtime = processes.runtime(version)
        snapshot = self._runtime.start(data)
        self.instance = lifecycle.new_instance(version.id, snapshot)
        self.subject.instance_id = self.instance.id
        self.open_tasks = {}
        return self.apply(snapshot, actor_id=actor_id)

    def announce_arrivals(self) -> None:
        """Notify the people who may do the tasks this step opened (services/notifications.py)."""
        if not self.opened:
            return
        db.session.flush()  # the tasks' ids, for the notifications' links
        if self.hazard is not None:
            notifications.announce_arrivals(self.hazard, self.opened, self.task, self.runtime.parsed.user_tasks)
        else:
            for task in self.opened:  # sent back: its way here closes a loop of the diagram (as for hazards)
                meta = self.runtime.parsed.user_tasks.get(task.spec_name)
                returned = self.task is not None and meta is not None and self.task.spec_name in meta.returns_from
                lifecycle.notify_subject_task(self.subject, task, returned=returned)
        self.opened = []

    def audit(self, action: str, *, actor_id: int | None, task_spec: str | None = None,
              data: dict[str, Any] | None = None) -> None:
        """Append an event to the subject's audit chain (a hazard's head was read under the lock)."""
        if self.hazard is not None:
            audit.record(action, actor_id=actor_id, hazard=self.hazard, task_spec=task_spec, data=data)
            return
        audit.record(action, actor_id=actor_id, chain=subjects.chain_of(self.subject), task_spec=task_spec, data=data)


# The step's two reads, built once (their SQL is compiled once per process too); values are bound per call.
_LOCK_BY_ID = (select(ProcessInstance).where(ProcessInstance.id == bindparam("instance_id")).with_for_update()
               .execution_options(populate_existing=True))
_WANTED = or_(HumanTask.status == TaskStatus.open, HumanTask.id == bindparam("task_id"))
_UNDER_LOCK = (select(Hazard, HumanTask).outerjoin(HumanTask, and_(HumanTask.instance_id == Hazard.instance_id, _WANTED))
               .where(Hazard.instance_id == bindparam("instance_id"))
               .options(joinedload(Hazard.enterprise), contains_eager(HumanTask.hazard))
               .execution_options(populate_existing=True))


def _lock(instance_id: int | None, task_id: int | None, task_scope) -> ProcessInstance | None:
    """The instance's row, locked; found by id, or through one of its tasks (within `task_scope`)."""
    if instance_id is not None:
        return db.session.scalars(_LOCK_BY_ID, {"instance_id": instance_id}).one_or_none()
    owner = select(HumanTask.instance_id).where(HumanTask.id == task_id)
    if task_scope is not None:
        owner = owner.where(task_scope)
    return db.session.scalars(select(ProcessInstance).where(ProcessInstance.id == owner.scalar_subquery())
                              .with_for_update().execution_options(populate_existing=True)).one_or_none()


def _read_under_lock(instance: ProcessInstance, task_id: int | None) -> InstanceStep:
    """The instance's subject — its hazard (with its enterprise), or periodic or public report — and open tasks,
    plus task `task_id` whatever its state."""
    instance_id = instance.id
    rows = db.session.execute(_UNDER_LOCK, {"instance_id": instance_id, "task_id": task_id or 0}).all()
    if rows:
        subject, tasks = rows[0][0], [t for _h, t in rows if t is not None]
    else:
        subject = subjects.owner_other_than_hazard(instance_id)
        if subject is None:
            raise EngineError(f"instance {instance_id} belongs to no hazard and no report")
        tasks = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, _WANTED),
                                        {"task_id": task_id or 0}))
    asked = next((t for t in tasks if t.id == task_id), None)
    return InstanceStep(instance, subject, {t.task_uuid: t for t in tasks if t.status == TaskStatus.open}, asked)


def _record_failure(task_id: int, instance_id: int, exc: EngineError) -> None:
    """Keep, in a transaction of its own, that the engine refused this task's step and why (the step itself
    wrote nothing): the process library lists it for the administrator. Best effort: the user's answer does
    not depend on it."""
    now = clock.now()
    values = {"task_id": task_id, "instance_id": instance_id, "element_id": (exc.element_id or None) and
              str(exc.element_id)[:100], "reason": str(exc)[:4000] or type(exc).__name__, "attempts": 1,
              "first_at": now, "last_at": now}
    insert_ = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert_(StepFailure).values(**values)
    statement = statement.on_conflict_do_update(index_elements=[StepFailure.task_id], set_={
        "attempts": StepFailure.attempts + 1, "last_at": now, "reason": values["reason"],
        "element_id": values["element_id"], "instance_id": instance_id})
    try:
        db.session.execute(statement)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database may be what failed; the refusal is answered all the same
        db.session.rollback()


def _busy() -> Conflict:
    return Conflict(_("This hazard is being updated by someone else right now; try again in a moment."))


def _unavailable() -> Unavailable:
    return Unavailable(_("The database could not be reached, so nothing was changed; try again in a moment."))


# PostgreSQL: lock_not_available (the lock timeout), deadlock_detected, serialization_failure.
_CONTENTION_STATES = {"55P03", "40P01", "40001"}


def contention(exc: OperationalError) -> bool:
    """Whether a database error means "someone else holds this now" (try again), not a broken database."""
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return state in _CONTENTION_STATES
    return "database is locked" in str(exc.orig)  # SQLite's busy_timeout ran out


@contextmanager
def instance_step(instance_id: int | None = None, *, task_id: int | None = None, task_scope=None,
                  missing: Callable[[], None] | None = None, hazard: Hazard | None = None,
                  subject: subjects.Subject | None = None,
                  keep_objects: bool = False, commit: bool = True) -> Iterator[InstanceStep]:
    """Run one step of an instance in one transaction; see the module docstring.

    - `instance_id`: lock that instance;
    - `task_id` (and `task_scope`, a WHERE clause on HumanTask the task must meet to be locked at all):
      lock the instance of that task; `step.task` is the task as read under the lock; when nothing is
      locked, `missing()` raises the error that says why (else NotFound);
    - neither: a new instance for `hazard` (or another `subject`, services/subjects.py; added and flushed by the
      caller), started with `step.start`.

    Commits when the block ends (`keep_objects`: without expiring what is loaded, for a response built
    from it; `commit=False`: a use case that makes several steps all or nothing commits them itself); rolls
    back and raises Conflict when the step lost a race or the engine refused it, and rolls back and
    re-raises anything else (a ServiceError the block raised reaches the caller as is).
    """
    step: InstanceStep | None = None
    try:
        if instance_id is None and task_id is None:
            if hazard is None and subject is None:
                raise ValueError("instance_step needs an instance, a task, a new hazard or a new subject")
            step = InstanceStep(ProcessInstance(), hazard if hazard is not None else subject, {})
        else:
            try:
                instance = _lock(instance_id, task_id, task_scope)
            except OperationalError as exc:
                raise (_busy() if contention(exc) else _unavailable()) from None
            if instance is None:
                if missing is not None:
                    missing()
                if task_id is not None:
                    raise NotFound(_("Task %(id)s was not found.", id=task_id))
                raise NotFound(_("This hazard's process was not found."))
            step = _read_under_lock(instance, task_id)
        yield step
        if step.instance.id is not None:
            # Every step moves the instance's version, and its row is written first (models: relationships
            # order a flush): a writer that read a stale instance (possible on SQLite, which has no row lock)
            # is refused before anything else is written.
            step.instance.updated_at = clock.now()
        step.announce_arrivals()
        if not commit:
            db.session.flush()
        elif keep_objects:
            commit_keeping_objects()
        else:
            db.session.commit()
    except TaskNotReady:
        db.session.rollback()
        raise Conflict(_("This task has already been completed; nothing was changed.")) from None
    except StaleDataError:
        db.session.rollback()
        raise Conflict(_("Someone else changed this hazard at the same moment; nothing was changed.")) from None
    except EngineError as exc:
        metrics.ENGINE_ERRORS.inc()
        # The ids are read before the rollback expires the objects.
        where = (step.task.id, step.instance.id) if step is not None and step.task is not None else None
        db.session.rollback()
        if where is not None and where[1] is not None:
            _record_failure(*where, exc)
        raise ProcessBroken(_("The process could not continue at this step because of a problem in its diagram, "
                              "which only its administrator can fix. Nothing was saved. The administrator sees "
                              "the problem in the process library; try again once it is fixed.")) from None
    except OperationalError as exc:
        db.session.rollback()
        raise (_busy() if contention(exc) else _unavailable()) from None
    except BaseException:
        db.session.rollback()
        raise
