"""The engine ceiling: how many task completions one core can run with no web server and no database.

Two loops over the shipped lifecycle, alternating a general and a major hazard from report to close:
- `app`: what the app does — ProcessRuntime.complete on the cached, already-parsed spec (state-only
  JSON in, snapshot out);
- `naive`: SpiffWorkflow's own serialize_json/deserialize_json, which carries the spec in every state.

The naive loop is the one place in app/ outside app/engine that imports SpiffWorkflow: it measures the
library as a reference and is never used by the application.
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from uuid import UUID

from app.engine import ProcessRuntime, parse_process


def step_data(today: date) -> dict[str, dict]:
    """Valid submissions for each user task (the forms' required fields), dated from `today`."""
    later = (today + timedelta(days=30)).isoformat()
    return {
        "assess_general": {"grade": "general", "responsible_person": "张安全", "measures": "加锁",
                           "rectification_deadline": later},
        "assess_major": {"grade": "major", "responsible_person": "李厂长", "major_criterion": "第十条"},
        "rectify": {"measures_taken": "已整改", "after_photos": [1], "completed_on": today.isoformat()},
        "review": {"review_result": "pass", "review_opinion": "整改到位"},
        "plan": {"measures": "更换风机", "funds": 180000, "rectification_deadline": later,
                 "responsible_person": "李厂长", "emergency_plan": "停产"},
        "approve_report": {"plan_decision": "approve", "report_current_state": "风机损坏", "report_harm": "可能爆炸",
                           "reported_to_workers_congress": True},
        "supervision_decision": {"plan_review": "accept", "listed": False},
        "rectify_major": {"measures_taken": "已整改", "after_photos": [1], "completed_on": today.isoformat()},
        "acceptance": {"acceptance_by": "agency", "acceptance_opinion": "合格", "acceptance_report": [2]},
        "verification": {"verification_result": "pass", "verification_opinion": "合格",
                         "verified_on": today.isoformat()},
        "write_off": {"write_off_document": "销号〔2026〕3号"},
    }


def _data_for(name: str, major: bool, data: dict[str, dict]) -> dict:
    if name == "assess":
        return data["assess_major" if major else "assess_general"]
    return data[name]


START = {"hazard_id": 1, "hazard_number": "YH000001", "title": "配电箱未上锁", "hazard_type": "unsafe_condition",
         "source": "self_check"}


def app_loop(xml: str, process_key: str, seconds: float, clock) -> dict:
    """ProcessRuntime.complete on a cached spec: completions per second on one core."""
    runtime = ProcessRuntime(parse_process(xml, process_key, validate=False), clock=clock)
    data = step_data(clock().date())
    done, busy, major = 0, 0.0, False
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        snap = runtime.start(dict(START))
        while snap.ready_tasks:
            task = snap.ready_tasks[0]
            t0 = time.perf_counter()
            snap = runtime.complete(snap.state, task.uuid, dict(_data_for(task.name, major, data)))
            busy += time.perf_counter() - t0
            done += 1
        major = not major
    return {"completions": done, "seconds": round(busy, 3), "per_second": round(done / busy, 1),
            "ms_per_task": round(1000 * busy / done, 3)}


def naive_loop(xml: str, process_key: str, seconds: float, clock) -> dict:
    """SpiffWorkflow's serialize_json/deserialize_json (spec included) around every completion."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    from app.engine.sandbox import make_script_engine

    parsed = parse_process(xml, process_key, validate=False)
    config = dict(SPIFF_CONFIG)
    try:  # the app's clock-aware timer events need their converters, as in engine/runtime.py
        from app.engine.timers import SERIALIZER_CONFIG
        config.update(SERIALIZER_CONFIG)
    except ImportError:
        pass
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    engine = make_script_engine(clock=clock)
    data = step_data(clock().date())
    done, busy, major = 0, 0.0, False
    size = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        wf.task_tree.data.update(START)
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        while True:
            t0 = time.perf_counter()
            wf = serializer.deserialize_json(state)
            wf.script_engine = engine
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            task = wf.get_task_from_id(UUID(str(ready[0].id)))
            task.data.update(_data_for(task.task_spec.name, major, data))
            task.run()
            wf.refresh_timers()
            wf.do_engine_steps()
            state = serializer.serialize_json(wf)
            busy += time.perf_counter() - t0
            size = max(size, len(state))
            done += 1
        major = not major
    return {"completions": done, "seconds": round(busy, 3), "per_second": round(done / busy, 1),
            "ms_per_task": round(1000 * busy / done, 3), "state_bytes_max": size}


def measure(xml: str, process_key: str, seconds: float, clock) -> dict:
    app_loop(xml, process_key, min(1.0, seconds / 5), clock)  # warm-up: imports, caches
    return {"app": app_loop(xml, process_key, seconds, clock),
            "naive": naive_loop(xml, process_key, seconds, clock)}
