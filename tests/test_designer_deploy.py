"""Deploying diagrams: full validation first, every problem named by element; refused means nothing changed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ProcessVersion, User
from app.services import designer, processes
from app.services.errors import Forbidden
from app.services.processes import DiagramInvalid
from tests import designer_diagrams as dd
from tests.helpers import current_task, hazard, in_days, report

KEY = "hazard_lifecycle"


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(ProcessVersion)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def refused(xml: str | bytes) -> dict[str | None, list[str]]:
    """Deploy as the administrator; assert it is refused and nothing changed; problems by element id."""
    processes.active_version()
    db.session.commit()
    before = counts()
    text = xml.decode("utf-8", errors="replace") if isinstance(xml, bytes) else xml
    with pytest.raises(DiagramInvalid) as caught:
        designer.deploy(user("admin"), KEY, text)
    assert counts() == before
    by_element: dict[str | None, list[str]] = {}
    for problem in caught.value.problems:
        by_element.setdefault(problem["element_id"], []).append(problem["message"])
    return by_element


def test_the_shipped_lifecycle_passes_every_check(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        validation = designer.validate(user("admin"), KEY, dd.shipped())
        assert validation.problems == []
        assert validation.dry_run.completed_tasks[0] == "assess"


def test_a_user_task_whose_form_does_not_exist_is_refused_and_named(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核", form="no_such_form")
        problems = refused(xml)
        assert list(problems) == ["double_check"]
        assert "no_such_form" in problems["double_check"][0]


def test_a_user_task_without_a_form_is_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problems = refused(dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核", form=None))
        assert "formKey" in problems["double_check"][0]


def test_a_user_task_in_a_lane_that_names_no_role_is_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.set_name(dd.shipped(), "Lane_inspector", "保安")
        problems = refused(xml)
        inspector_tasks = {"supervision_decision", "verification", "write_off"}
        assert inspector_tasks <= set(problems)
        assert all("保安" in problems[t][0] for t in inspector_tasks)


def test_a_user_task_outside_every_lane_is_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problems = refused(dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核", lane=None))
        assert "lane" in problems["double_check"][0]


def test_a_condition_that_tries_to_escape_the_sandbox_is_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.set_condition(dd.shipped(), "Flow_grade_general", "().__class__.__base__.__subclasses__()")
        problems = refused(xml)
        assert list(problems) == ["Flow_grade_general"]
        assert "__class__" in " ".join(problems["Flow_grade_general"])


def test_a_condition_with_an_import_is_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problems = refused(dd.set_condition(dd.shipped(), "Flow_review_pass", "__import__('os').system('id')"))
        assert "Flow_review_pass" in problems


def test_malformed_xml_is_refused_with_a_clear_message(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problems = refused(dd.shipped().replace("</bpmn:process>", "</bpmn:proces>"))
        assert list(problems) == [None]
        assert "well-formed" in problems[None][0]


def test_an_element_bpmn_does_not_know_is_refused_and_pinned_to_its_task(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.shipped().replace("<bpmn:incoming>Flow_start_assess</bpmn:incoming>",
                                   "<bpmn:incomin>Flow_start_assess</bpmn:incomin>")
        problems = refused(xml)
        assert "assess" in problems and "BPMN" in problems["assess"][0]


def test_a_task_that_leads_nowhere_and_an_element_nothing_reaches_are_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.remove_task(dd.shipped(), "review")
        xml = xml.replace('sourceRef="rectify" targetRef="review_gateway"', 'sourceRef="rectify" targetRef="rectify"')
        problems = refused(xml)
        assert "review_gateway" in problems  # nothing leads to it any more


def test_unquoted_timer_durations_are_refused_with_the_fix(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.shipped().replace(
            '<bpmn:endEvent id="end_closed" name="已闭环">',
            '<bpmn:intermediateCatchEvent id="wait_a_bit"><bpmn:incoming>Flow_x</bpmn:incoming>'
            '<bpmn:timerEventDefinition id="t1"><bpmn:timeDuration>P30D</bpmn:timeDuration>'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="end_closed" name="已闭环">')
        problems = refused(xml)
        assert any('"P30D"' in m for m in problems["wait_a_bit"])
        assert "wait_a_bit" in problems


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="hazard_lifecycle" name="&lol3;"/></bpmn:definitions>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
<bpmn:process id="hazard_lifecycle" name="&secret;"/></bpmn:definitions>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entity_tricks_are_refused_before_any_parser_expands_them(app, xml):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problems = refused(xml)
        assert list(problems) == [None]
        assert "not allowed" in problems[None][0]
        assert "root:" not in problems[None][0]


def test_an_oversize_diagram_is_refused(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        padding = "<!--" + "x" * (2 * 1024 * 1024) + "-->"
        problems = refused(dd.shipped().replace("<bpmn:process ", padding + "<bpmn:process ", 1))
        assert list(problems) == [None] and "KB" in problems[None][0]


def test_absurdly_deep_nesting_is_refused_not_crashed_on(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problems = refused("<a>" * 50_000 + "</a>" * 50_000)
        assert list(problems) == [None] and "XML" in problems[None][0]


def test_a_draft_with_an_external_entity_is_not_stored(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with pytest.raises(DiagramInvalid):
            designer.save_draft(user("admin"), KEY, EXTERNAL_ENTITY)
        assert designer.list_drafts(user("admin"), KEY) == []


def test_only_administrators_may_deploy(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for name in ("officer_a", "principal_a", "inspector"):
            with pytest.raises(Forbidden):
                designer.deploy(user(name), KEY, dd.shipped())


def test_a_valid_diagram_becomes_the_next_active_version_with_an_audit_event(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        first = processes.active_version()
        db.session.commit()
        xml = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核")
        version = designer.deploy(user("admin"), KEY, xml, note="add a check")
        assert version.number == first.number + 1 and version.active
        assert processes.active_version().id == version.id
        last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert last.action == "process_deployed" and '"number":2' in last.data
        again = designer.deploy(user("admin"), KEY, dd.shipped())
        assert again.id == first.id and again.active  # re-deploying an old diagram re-activates it


def test_new_hazards_start_on_the_new_version_and_running_ones_finish_on_their_own(app, api):
    officer, principal = api.as_("officer_a"), api.as_("principal_a")
    old = report(officer)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "负责人复核", lane="Lane_principal")
        designer.deploy(user("admin"), KEY, xml)
    new = report(officer)
    assess = {"grade": "general", "responsible_person": "张安全", "measures": "加锁",
              "rectification_deadline": in_days(60)}
    from tests.helpers import complete
    for h in (old, new):
        complete(officer, current_task(officer, h["id"], "assess"), assess)
    assert [t["name"] for t in hazard(officer, old["id"])["current_tasks"]] == ["rectify"]
    assert [t["name"] for t in hazard(officer, new["id"])["current_tasks"]] == ["double_check"]
    complete(principal, current_task(principal, new["id"], "double_check"), {"review_result": "pass"})
    assert [t["name"] for t in hazard(officer, new["id"])["current_tasks"]] == ["rectify"]


def test_the_diff_between_versions_names_added_removed_and_changed_elements(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        processes.active_version()
        xml = dd.add_user_task_after(dd.shipped(), "assess", "double_check", "复核")
        xml = dd.set_condition(xml, "Flow_review_pass", 'review_result in ("pass", "ok")')
        xml = dd.set_property(xml, "rectify", "formKey", "review")
        designer.deploy(user("admin"), KEY, xml)
        diff = designer.diff_versions(user("admin"), KEY, 1, 2).diff
        assert {e.id for e in diff.added} == {"double_check", "Flow_assess_double_check"}
        assert diff.removed == []
        changed = {c.id: c.changes for c in diff.changed}
        assert changed["Flow_review_pass"]["condition"] == ('review_result == "pass"', 'review_result in ("pass", "ok")')
        assert changed["rectify"]["form_key"] == ("rectify", "review")
        assert changed["Flow_assess_grade"]["source"] == ("assess", "double_check")


def test_a_step_or_end_status_outside_the_hazard_vocabulary_is_refused_and_named(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        xml = dd.set_property(dd.shipped(), "rectify", "status", "fixing")
        xml = dd.set_property(xml, "end_closed", "status", "done")
        problems = refused(xml)
        assert sorted(problems) == ["end_closed", "rectify"]
        assert "fixing" in problems["rectify"][0] and "rectifying" in problems["rectify"][0]
        assert "done" in problems["end_closed"][0] and "written_off" in problems["end_closed"][0]


def test_markup_inside_documentation_is_refused_on_its_element(app):
    """An XHTML <script> in <bpmn:documentation> is valid BPMN (documentation takes any content) but would
    carry code to any browser the diagram is shown in: documentation must be text."""
    xml = dd.shipped().replace(
        "<bpmn:documentation>安全员核实隐患情况",
        '<bpmn:documentation><script xmlns="http://www.w3.org/1999/xhtml">alert(document.cookie)</script>'
        "安全员核实隐患情况", 1)
    assert "alert(document.cookie)" in xml
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problems = refused(xml)
    assert any("plain text" in message and "<script>" in message for message in problems.get("assess", [])), problems
