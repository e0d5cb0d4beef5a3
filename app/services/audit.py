"""The append-only audit trail: each event hashed with its predecessor in its chain.

The hash is an HMAC-SHA256 keyed with AUDIT_KEY, which lives outside the database (environment or a file, see
app/keys.py): whoever can write to the database but not read the key cannot rewrite a chain and recompute it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import select, tuple_, update

from app.clock import clock
from app.extensions import db
from app.models import AuditEvent, AuditHead, Hazard

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"


def hazard_chain(hazard_id: int) -> str:
    return f"hazard:{hazard_id}"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(key: str | None, chain: str, seq: int, prev_hash: str, action: str, actor_id: int | None,
               hazard_id: int | None, task_spec: str | None, data: str, created_at: datetime) -> str:
    """The event's HMAC-SHA256 under `key`; key None gives the plain SHA-256 that chains had before they were keyed
    (only `rekey` reads those)."""
    material = canonical([chain, seq, prev_hash, action, actor_id, hazard_id, task_spec, data,
                          created_at.isoformat()]).encode("utf-8")
    if key is None:
        return hashlib.sha256(material).hexdigest()
    return hmac.new(key.encode("utf-8"), material, hashlib.sha256).hexdigest()


def audit_key() -> str:
    return current_app.config["AUDIT_KEY"]


def report_chain(report_id: int) -> str:
    return f"report:{report_id}"


def public_report_chain(public_report_id: int) -> str:
    """A public report's triage (never on a hazard's timeline, which the enterprise reads)."""
    return f"public_report:{public_report_id}"


def record(action: str, *, actor_id: int | None, hazard: Hazard | None = None,
           task_spec: str | None = None, data: dict[str, Any] | None = None,
           chain: str | None = None) -> AuditEvent:
    """Append one event to the hazard's chain (or `chain`, else the system chain), inside the caller's transaction.

    A hazard's chain keeps its head on the hazard row, which the caller read under the instance lock (the
    unit of work, services/unit_of_work.py, is the way to get one): no other writer can append meanwhile.
    Any other chain (the system chain; a periodic report's, `report_chain`) keeps its head in `audit_head`,
    whose row is locked here, which serializes it.
    """
    created = clock.now()
    payload = canonical(data or {})
    if hazard is not None:
        chain, seq, prev = hazard_chain(hazard.id), hazard.audit_seq + 1, hazard.audit_hash or GENESIS
        digest = event_hash(audit_key(), chain, seq, prev, action, actor_id, hazard.id, task_spec, payload, created)
        hazard.audit_seq, hazard.audit_hash = seq, digest
    else:
        chain = chain or SYSTEM_CHAIN
        head = db.session.get(AuditHead, chain, with_for_update=True)
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
        digest = event_hash(audit_key(), chain, seq, prev, action, actor_id, None, task_spec, payload, created)
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
    return _walk(audit_key())


def _walk(key: str | None) -> tuple[int, list[Problem]]:
    problems: list[Problem] = []
    heads: dict[str, Head] = {h.chain: Head(h.seq, h.hash) for h in db.session.scalars(select(AuditHead))}
    # Every hazard has a chain (its report is its first event): one without events lost its whole chain.
    heads.update((hazard_chain(hazard_id), Head(seq, digest)) for hazard_id, seq, digest in db.session.execute(
        select(Hazard.id, Hazard.audit_seq, Hazard.audit_hash)))
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
        digest = event_hash(key, ev.chain, ev.seq, ev.prev_hash, ev.action, ev.actor_id, ev.hazard_id,
                            ev.task_spec, ev.data, ev.created_at)
        if not hmac.compare_digest(digest, ev.hash):
            problems.append(Problem(ev.chain, ev.seq, ev.id, "content does not match its keyed hash: altered"))
        expected_seq, prev = ev.seq + 1, ev.hash
    close(chain, expected_seq - 1, prev)
    for name, head in heads.items():
        message = ("hazard has no audit events: its whole chain was deleted" if head.seq == 0
                   else "head record has no events: chain deleted")
        problems.append(Problem(name, head.seq, None, message))
    return checked, problems


def rekey(old_key: str | None, batch: int = 5000) -> int:
    """Re-hash every chain with the current AUDIT_KEY, after checking all of it under `old_key` (None: the plain
    SHA-256 chains written before the trail was keyed). Refuses (returns the problems via RekeyRefused) when the
    trail does not verify under the old key, so that a tampered chain is never laundered. Run it with the
    application stopped; returns the number of events re-hashed."""
    _checked, problems = _walk(old_key)
    if problems:
        raise RekeyRefused(problems)
    key, chain, prev, done = audit_key(), None, GENESIS, 0
    position: tuple[str, int] = ("", 0)
    heads: dict[str, tuple[int, str]] = {}
    while True:
        rows = db.session.execute(
            select(AuditEvent.id, AuditEvent.chain, AuditEvent.seq, AuditEvent.action, AuditEvent.actor_id,
                   AuditEvent.hazard_id, AuditEvent.task_spec, AuditEvent.data, AuditEvent.created_at)
            .where(tuple_(AuditEvent.chain, AuditEvent.seq) > tuple_(*position))
            .order_by(AuditEvent.chain, AuditEvent.seq).limit(batch)).all()
        if not rows:
            break
        changes = []
        for row in rows:
            if row.chain != chain:
                chain, prev = row.chain, GENESIS
            digest = event_hash(key, row.chain, row.seq, prev, row.action, row.actor_id, row.hazard_id,
                                row.task_spec, row.data, row.created_at)
            changes.append({"id": row.id, "prev_hash": prev, "hash": digest})
            heads[row.chain] = (row.seq, digest)
            prev = digest
        db.session.execute(update(AuditEvent), changes)
        done += len(rows)
        position = (rows[-1].chain, rows[-1].seq)
    for name, (seq, digest) in heads.items():
        if name == SYSTEM_CHAIN or not name.startswith("hazard:"):
            db.session.execute(update(AuditHead).where(AuditHead.chain == name).values(seq=seq, hash=digest))
        else:
            db.session.execute(update(Hazard).where(Hazard.id == int(name.split(":", 1)[1]))
                               .values(audit_seq=seq, audit_hash=digest))
    db.session.commit()
    return done


class RekeyRefused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems
