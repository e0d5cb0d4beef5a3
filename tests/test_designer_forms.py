"""Form definitions are versioned: an edit applies to new tasks; a task keeps the form it was given."""
from __future__ import annotations

import copy
import json
import os
import shutil

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import FormVersion, HumanTask, User
from app.services import designer, forms, shipped
from app.services.errors import Forbidden, ValidationFailed
from tests.helpers import complete, current_task, in_days, report

ASSESS = {"grade": "general", "responsible_person": "张安全", "measures": "加锁", "rectification_deadline": in_days(7)}


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def with_required_risk_level(definition: dict) -> dict:
    new = copy.deepcopy(definition)
    new["schema"]["properties"]["risk_level"] = {"type": "string", "enum": ["low", "high"]}
    new["schema"]["required"].append("risk_level")
    new["fields"].append({"name": "risk_level", "widget": "radio", "label": {"zh": "风险等级", "en": "Risk level"},
                          "choices": [{"value": "low", "label": {"zh": "低", "en": "Low"}},
                                      {"value": "high", "label": {"zh": "高", "en": "High"}}]})
    return new


def test_forms_are_seeded_from_their_files_as_version_one(app):
    with app.test_request_context():
        form = forms.get_form("assess")
        assert form.number == 1 and form.version_id is not None
        row = db.session.get(FormVersion, form.version_id)
        assert row.source == "file" and row.active
        assert forms.get_form("assess").version_id == form.version_id  # seeded once


def test_a_task_keeps_the_form_version_it_was_given_and_new_tasks_get_the_edit(app, api):
    officer = api.as_("officer_a")
    before = report(officer)
    old_task = current_task(officer, before["id"], "assess")
    with app.test_request_context():
        edited = with_required_risk_level(forms.get_form("assess").as_dict())
        version = designer.save_form(user("admin"), "assess", edited, note="risk level")
        assert version.number == 2 and version.active and version.source == "editor"
        assert forms.get_form("assess").number == 2
    after = report(officer)
    new_task = current_task(officer, after["id"], "assess")
    with app.app_context():
        assert db.session.get(HumanTask, old_task).form_version_id != db.session.get(HumanTask, new_task).form_version_id
    form_of_new = officer.get(f"/tasks/{new_task}").get_json()["form"]
    assert any(f["name"] == "risk_level" for f in form_of_new["fields"])
    form_of_old = officer.get(f"/tasks/{old_task}").get_json()["form"]
    assert not any(f["name"] == "risk_level" for f in form_of_old["fields"])
    resp = officer.post(f"/tasks/{new_task}/complete", json={"data": ASSESS})
    assert resp.status_code == 422 and "risk_level" in resp.get_json()["fields"]
    complete(officer, new_task, dict(ASSESS, risk_level="high"))
    complete(officer, old_task, ASSESS)  # the old task's form has no such field and refuses none


def test_saving_the_same_definition_again_makes_no_new_version(app):
    with app.test_request_context():
        current = forms.get_form("review").as_dict()
        first = designer.save_form(user("admin"), "review", with_required_risk_level(current))
        again = designer.save_form(user("admin"), "review", with_required_risk_level(current))
        assert first.id == again.id
        assert [v.number for v in designer.form_history(user("admin"), "review")] == [2, 1]


@pytest.mark.parametrize("breakage, field", [
    (lambda d: d["fields"].append({"name": "ghost", "widget": "text", "label": {"zh": "幽灵"}}), "fields.ghost"),
    (lambda d: d["fields"][0].update(widget="rainbow"), "fields.grade"),
    (lambda d: d["fields"][0].update(choices=[{"value": "general", "label": {"zh": "一般"}}]), "fields.grade"),
    (lambda d: d["fields"][0].update(label={"zh": " ", "en": ""}), "fields.grade"),
    (lambda d: d["schema"].update(type="no-such-type"), "schema"),
    (lambda d: d["schema"]["required"].append("missing"), "schema"),
    (lambda d: d.update(title={}), "title"),
    (lambda d: d.update(key="plan"), "key"),
], ids=["field-not-in-schema", "unknown-widget", "choices-differ-from-enum", "no-label", "bad-schema",
        "required-unknown", "no-title", "other-key"])
def test_broken_definitions_are_refused_with_the_place_to_fix(app, breakage, field):
    with app.test_request_context():
        definition = forms.get_form("assess").as_dict()
        breakage(definition)
        with pytest.raises(ValidationFailed) as caught:
            designer.save_form(user("admin"), "assess", definition)
        assert field in caught.value.fields
        assert forms.get_form("assess").number == 1


def test_only_administrators_may_edit_forms(app):
    with app.test_request_context():
        definition = forms.get_form("assess").as_dict()
        for name in ("officer_a", "principal_a", "inspector"):
            with pytest.raises(Forbidden):
                designer.save_form(user(name), "assess", definition)


def test_a_shipped_file_that_changes_becomes_a_new_version_at_install_unless_an_administrator_edited_the_form(
        app, tmp_path):
    shutil.copytree(app.config["FORMS_DIR"], tmp_path / "forms")
    app.config["FORMS_DIR"] = tmp_path / "forms"
    path = tmp_path / "forms" / "review.json"
    changed = json.loads(path.read_text(encoding="utf-8"))

    def ship(title: str, later: int) -> None:
        changed["title"]["en"] = title
        path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + later))

    def active():  # each lookup in its own request, as in the running application
        with app.test_request_context():
            return forms.get_form("review")

    def install() -> list[str]:
        with app.app_context():
            return shipped.install()

    assert active().number == 1
    ship("Check the rectification", 5)
    assert active().number == 1  # reading never installs anything
    assert "form review: installed version 2" in install()
    assert active().number == 2 and active().title["en"] == "Check the rectification"
    assert "form review: version 2 is up to date" in install()  # installing again changes nothing
    with app.test_request_context():
        designer.save_form(user("admin"), "review", with_required_risk_level(active().as_dict()))
    ship("Another release", 10)
    assert "form review: kept version 3, saved in the form editor" in install()
    assert active().number == 3 and active().title["en"] != "Another release"  # the administrator's edit wins
