"""The append-only audit trail: each event hashed with its predecessor in its chain."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import AuditEvent, AuditHead, Hazard

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"


def hazard_chain(hazard_id: int) -> str:
    return f"hazard:{hazard_id}"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(chain: str, seq: int, prev_hash: str, action: str, actor_id: int | None,
               hazard_id: int | None, task_spec: str | None, data: str, created_at: datetime) -> str:
    material = canonical([chain, seq, prev_hash, action, actor_id, hazard_id, task_spec, data,
                          created_at.isoformat()])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def record(action: str, *, actor_id: int | None, hazard: Hazard | None = None,
           task_spec: str | None = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the hazard's chain (or the system chain), inside the caller's transaction.

    A hazard's chain keeps its head on the hazard row, which the caller read under the instance lock (the
    unit of work, services/unit_of_work.py, is the way to get one): no other writer can append meanwhile.
    The system chain's head row is locked here, which serializes it.
    """
    created = clock.now()
    payload = canonical(data or {})
    if hazard is not None:
        chain, seq, prev = hazard_chain(hazard.id), hazard.audit_seq + 1, hazard.audit_hash or GENESIS
        digest = event_hash(chain, seq, prev, action, actor_id, hazard.id, task_spec, payload, created)
        hazard.audit_seq, hazard.audit_hash = seq, digest
    else:
        chain = SYSTEM_CHAIN
        head = db.session.get(AuditHead, chain, with_for_update=True)
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
        digest = event_hash(chain, seq, prev, action, actor_id, None, task_spec, payload, created)
        if head is None:
            db.session.add(AuditHead(chain=chain, seq=seq, hash=digest))
        else:
            head.seq, head.hash = seq, digest
    event = AuditEvent(chain=chain, seq=seq, hazard_id=hazard.id if hazard is not None else None,
                       actor_id=actor_id, action=action, task_spec=task_spec, data=payload, created_at=created,
                       prev_hash=prev, hash=digest)
    db.session.add(event)
    return event


class Head(NamedTuple):
    seq: int
    hash: str | None


@dataclass
class Problem:
    chain: str
    seq: int | None
    event_id: int | None
    message: str


def verify() -> tuple[int, list[Problem]]:
    """Walk every chain; return how many events were checked and every inconsistency found."""
    problems: list[Problem] = []
    heads: dict[str, Head] = {h.chain: Head(h.seq, h.hash) for h in db.session.scalars(select(AuditHead))}
    heads.update((hazard_chain(hazard_id), Head(seq, digest)) for hazard_id, seq, digest in db.session.execute(
        select(Hazard.id, Hazard.audit_seq, Hazard.audit_hash).where(Hazard.audit_seq > 0)))
    checked = 0
    chain = None
    expected_seq, prev = 1, GENESIS

    def close(name: str | None, last_seq: int, last_hash: str) -> None:
        if name is None:
            return
        head = heads.pop(name, None)
        if head is None:
            problems.append(Problem(name, None, None, "chain has events but no head record"))
        elif head.seq != last_seq or head.hash != last_hash:
            problems.append(Problem(name, head.seq, None,
                                    f"head says seq {head.seq}, chain ends at {last_seq}: events deleted or "
                                    "altered at the end"))

    rows: Iterator[AuditEvent] = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq).execution_options(yield_per=2000))
    for ev in rows:
        if ev.chain != chain:
            close(chain, expected_seq - 1, prev)
            chain, expected_seq, prev = ev.chain, 1, GENESIS
        checked += 1
        if ev.seq != expected_seq:
            problems.append(Problem(ev.chain, ev.seq, ev.id, f"expected seq {expected_seq}: events missing"))
        if ev.prev_hash != prev:
            problems.append(Problem(ev.chain, ev.seq, ev.id, "previous-hash link broken"))
        digest = event_hash(ev.chain, ev.seq, ev.prev_hash, ev.action, ev.actor_id, ev.hazard_id,
                            ev.task_spec, ev.data, ev.created_at)
        if digest != ev.hash:
            problems.append(Problem(ev.chain, ev.seq, ev.id, "content does not match its hash: altered"))
        expected_seq, prev = ev.seq + 1, ev.hash
    close(chain, expected_seq - 1, prev)
    for name, head in heads.items():
        problems.append(Problem(name, head.seq, None, "head record has no events: chain deleted"))
    return checked, problems
