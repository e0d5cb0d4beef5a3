"""More than one process: create one from a template, import a diagram whatever its process id, and choose by
rules which process a new hazard starts (the shipped lifecycle stays the default)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.engine.diagram import read_diagram
from app.extensions import db
from app.models import Hazard, Organisation, ProcessInstance, ProcessVersion, Region, User
from app.services import designer, processes
from app.services.errors import ValidationFailed
from app.services.shipped import shipped_processes
from tests.helpers import complete, current_task, in_days, report, upload
from tests.test_designer_pages import Admin


def admin() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def hazard_process(hazard: Hazard) -> str:
    return db.session.get(ProcessInstance, hazard.instance_id).version.process_key


def enterprise_a() -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == "宏达机械制造有限公司"))


def test_the_shipped_templates_install_and_pass_every_check_and_their_dry_run(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        shipped = shipped_processes()
        assert {"hazard_lifecycle", "general_loop", "major_loop", "fix_on_the_spot"} <= set(shipped)
        runs = {}
        for key in shipped:
            validation = designer.validate(admin(), key, processes.active_version(key).bpmn_xml)
            assert validation.problems == [], key
            runs[key] = validation.dry_run.completed_tasks
    assert runs["fix_on_the_spot"] == ["fix_rectify", "fix_verify"]
    assert runs["general_loop"][:3] == ["assess", "rectify", "review"]
    assert runs["major_loop"][:5] == ["assess", "plan", "approve_report", "supervision_decision", "rectify_major"]
    assert "verification" in runs["major_loop"]


def test_a_process_created_from_a_template_runs_for_the_hazards_its_rule_chooses(app, api):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        version = designer.create_process(admin(), "inspection_fix", "检查发现立改", "fix_on_the_spot")
        assert (version.process_key, version.number) == ("inspection_fix", 1)
        assert read_diagram(version.bpmn_xml).process_names == {"inspection_fix": "检查发现立改"}
        designer.add_rule(admin(), "inspection_fix", source="government_inspection")
        ent_id = enterprise_a().id
    inspector, officer = api.as_("inspector"), api.as_("officer_a")
    found = report(inspector, source="government_inspection", enterprise_id=ent_id)
    own = report(officer)
    with app.app_context():
        assert hazard_process(db.session.get(Hazard, found["id"])) == "inspection_fix"
        assert hazard_process(db.session.get(Hazard, own["id"])) == processes.DEFAULT_PROCESS
    task = current_task(officer, found["id"], "fix_rectify")
    complete(officer, task, {"measures_taken": "当场更换护罩", "after_photos": [upload(officer)],
                             "completed_on": in_days(0)})
    current_task(inspector, found["id"], "fix_verify")


def test_rules_match_on_industry_and_region_and_the_first_match_wins(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        designer.create_process(admin(), "chemical", "危化品隐患", processes.DEFAULT_PROCESS)
        designer.create_process(admin(), "east_side", "东湖隐患", processes.DEFAULT_PROCESS)
        east = db.session.scalar(select(Region).where(Region.name == "东湖街道"))
        designer.add_rule(admin(), "chemical", industry="C26")
        designer.add_rule(admin(), "east_side", region_id=east.id)
        a, b = enterprise_a(), db.session.scalar(select(Organisation).where(Organisation.industry == "C26"))
        assert processes.process_for("self_check", b.industry, b.region_id) == "chemical"
        assert processes.process_for("self_check", a.industry, a.region_id) == "east_side"  # a grid of 东湖街道
        assert processes.process_for("self_check", "其他", None) == processes.DEFAULT_PROCESS
        designer.delete_rule(admin(), processes.rules()[0].id)
        assert processes.process_for("self_check", b.industry, b.region_id) == processes.DEFAULT_PROCESS
        # An industry is a section or division of GB/T 4754: "C" covers every manufacturer, "c26" is read as C26.
        designer.add_rule(admin(), "chemical", industry="c")
        assert processes.rules()[-1].industry == "C"
        assert processes.process_for("self_check", "C2614", None) == "chemical"
        assert processes.process_for("self_check", "G59", None) == processes.DEFAULT_PROCESS
        with pytest.raises(ValidationFailed) as refused:
            designer.add_rule(admin(), "chemical", industry="化工")
        assert "GB/T 4754" in refused.value.fields["industry"]


def test_a_diagram_imported_with_another_process_id_is_deployed_as_the_target_process(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = processes.active_version("fix_on_the_spot").bpmn_xml.replace("fix_on_the_spot", "Process_0abc123")
        version = designer.deploy(admin(), processes.DEFAULT_PROCESS, xml)
        assert version.process_key == processes.DEFAULT_PROCESS
        assert read_diagram(version.bpmn_xml).process_ids == [processes.DEFAULT_PROCESS]


def test_the_library_pages_create_processes_and_rules_and_refuse_bad_input_without_a_500(app, client):
    user = Admin(client)
    resp = user.client.post("/admin/processes", data={"csrf_token": user.token, "process_key": "9 bad key",
                                                      "name": "", "template": "fix_on_the_spot"})
    assert resp.status_code == 302
    page = user.client.get("/admin/processes").get_data(as_text=True)
    assert "hl-flash" in page and "alert-danger" in page
    resp = user.client.post("/admin/processes", data={"csrf_token": user.token, "process_key": "spot_fix",
                                                      "name": "立改", "template": "fix_on_the_spot"})
    assert resp.status_code == 302 and resp.location.endswith("/admin/processes/spot_fix/designer")
    resp = user.client.post("/admin/process-rules", data={"csrf_token": user.token, "process_key": "spot_fix",
                                                          "source": "government_inspection"})
    assert resp.status_code == 302
    page = user.client.get("/admin/processes").get_data(as_text=True)
    assert 'data-process="spot_fix"' in page and "spot_fix</td>" in page
    for path in ["/admin/processes/spot_fix/designer", "/admin/processes/spot_fix/versions/1",
                 "/admin/processes/spot_fix/migrate?to=1"]:
        assert user.client.get(path).status_code == 200, path
    with app.app_context():
        assert db.session.scalar(select(ProcessVersion.number).where(ProcessVersion.process_key == "spot_fix")) == 1


def test_version_diff_and_migration_work_for_a_second_process(app, api):
    """A process other than the shipped lifecycle gets a second version; the diff names the changed step and
    its running hazard moves to the new version."""
    from app.services import migration
    from tests import designer_diagrams as dd

    with app.test_request_context(headers={"Accept-Language": "en"}):
        first_xml = designer.create_process(admin(), "inspection_fix", "检查发现立改", "fix_on_the_spot").bpmn_xml
        designer.add_rule(admin(), "inspection_fix", source="government_inspection")
        ent_id = enterprise_a().id
    found = report(api.as_("inspector"), source="government_inspection", enterprise_id=ent_id)
    current_task(api.as_("officer_a"), found["id"], "fix_rectify")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        second = designer.deploy(admin(), "inspection_fix", dd.set_name(first_xml, "fix_rectify", "当场整改（新）"))
        assert second.number == 2
        diff = designer.diff_versions(admin(), "inspection_fix", 1, 2)
        assert "fix_rectify" in {c.id for c in diff.diff.changed}
        preview = migration.preview(admin(), "inspection_fix", 2)
        instance_id = db.session.get(Hazard, found["id"]).instance_id
        assert [m.instance_id for m in preview.movable] == [instance_id]
        outcome = migration.migrate(admin(), "inspection_fix", 2, [instance_id])
        assert outcome.moved == [instance_id]
        assert db.session.get(ProcessInstance, instance_id).version.number == 2
        db.session.remove()
    assert current_task(api.as_("officer_a"), found["id"], "fix_rectify")
