"""Small steps the API tests share: report, find the current task, complete it, upload evidence."""
from __future__ import annotations

import io
from datetime import date, timedelta

from app.services.demo import tiny_pdf, tiny_png

REPORT = {"title": "配电箱未上锁", "description": "巡检发现配电箱门敞开", "location": "一车间",
          "hazard_type": "unsafe_condition", "source": "self_check"}


MIGRATED: set[str] = set()  # the test databases this session has migrated (tests/conftest.py make_app)


def in_days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def upload(api, content: bytes | None = None, name: str = "photo.png") -> int:
    resp = api.post("/attachments", data={"file": (io.BytesIO(content or tiny_png()), name)},
                    content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def upload_pdf(api) -> int:
    return upload(api, tiny_pdf(), "report.pdf")


def report(api, **overrides) -> dict:
    resp = api.post("/hazards", json=dict(REPORT, **overrides))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def current_task(api, hazard_id: int, name: str) -> int:
    detail = api.get(f"/hazards/{hazard_id}").get_json()
    names = [t["name"] for t in detail["current_tasks"]]
    assert name in names, f"expected task {name}, hazard is at {names}"
    return next(t["id"] for t in detail["current_tasks"] if t["name"] == name)


def complete(api, task_id: int, data: dict, status: int = 200) -> dict:
    resp = api.post(f"/tasks/{task_id}/complete", json={"data": data})
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def hazard(api, hazard_id: int) -> dict:
    resp = api.get(f"/hazards/{hazard_id}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def stored_keys(app) -> set[str]:
    """The keys of the files in the application's file store (a folder or an object store)."""
    from app.storage import storage

    with app.app_context():
        return {key for key, _size in storage().list() if not key.startswith("_health/")}
