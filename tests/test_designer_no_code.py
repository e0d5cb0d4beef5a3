"""The designer for administrators who do not program: condition builder, status choices, change summaries in
words (old → new values, zh and en) and a migration preview by step name that ticks nothing for them."""
from __future__ import annotations

import json
import re

import lxml.html
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import designer, migration, processes
from tests import designer_diagrams as dd
from tests.helpers import report
from tests.test_designer_pages import Admin

KEY = "hazard_lifecycle"
BUILDER = f"/admin/processes/{KEY}/condition-builder"


def admin_user() -> User:
    return db.session.scalar(select(User).where(User.username == "admin"))


def changed_version(xml: str) -> str:
    """The three kinds of change a bureau asks for: a renamed step, a shorter time limit, a new step."""
    xml = dd.set_name(xml, "acceptance", "局领导核查")
    xml = xml.replace('"P10D"', '"P7D"')
    return dd.add_user_task_after(xml, "assess", "double_check", "复核分级", form="review")


# ----------------------------------------------------------------------------------------- condition builder
def test_the_builder_offers_the_fields_of_the_forms_before_the_gateway_with_their_choices(client):
    Admin(client)
    body = client.get(f"{BUILDER}?form=review&form=assess&lang=zh").get_json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["review_result"]["label"] == "复查结论" and fields["review_result"]["form_title"] == "整改复查"
    assert fields["review_result"]["choices"] == [{"value": "pass", "label": "通过"},
                                                   {"value": "fail", "label": "不通过"}]
    assert fields["review_result"]["operators"] == ["is", "is_not", "one_of"]
    assert fields["grade"]["kind"] == "choice"
    assert "after_photos" not in fields  # files are not something a condition can test
    english = client.get(f"{BUILDER}?form=review&lang=en").get_json()
    assert english["fields"][0]["label"] == "Review result"


def test_the_builder_writes_the_expression_the_engine_evaluates(app, client):
    Admin(client)

    def built(query: str) -> str:
        resp = client.get(f"{BUILDER}?form=review&form=rectify&form=assess&{query}")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["expression"]

    assert built("field=review_result&operator=is&value=pass") == 'review_result == "pass"'
    assert built("field=review_result&operator=is_not&value=fail") == 'review_result != "fail"'
    assert built("field=grade&operator=one_of&value=general&value=major") == 'grade in ["general", "major"]'
    assert built("field=funds_spent&operator=gt&value=10000") == "funds_spent > 10000"
    assert built("field=completed_on&operator=lt&value=2026-12-31") == 'completed_on < "2026-12-31"'
    # What it writes deploys: the shipped diagram with a built condition passes the checks.
    xml = dd.set_condition(dd.shipped(), "Flow_review_pass", built("field=review_result&operator=is&value=pass"))
    with app.test_request_context():
        assert processes.check_diagram(KEY, xml).problems == []


def test_the_builder_reads_its_own_expressions_back_and_leaves_others_to_the_text_box(client):
    Admin(client)
    parsed = client.get(BUILDER, query_string={"form": "review", "expression": 'review_result == "pass"'}).get_json()
    assert parsed["parsed"] == {"field": "review_result", "operator": "is", "values": ["pass"]}
    one_of = client.get(BUILDER, query_string={"expression": 'grade in ["general", "major"]'}).get_json()
    assert one_of["parsed"] == {"field": "grade", "operator": "one_of", "values": ["general", "major"]}
    other = client.get(BUILDER, query_string={"expression": "len(x) > 2 and y"}).get_json()
    assert other["parsed"] is None


def test_the_builder_refuses_what_does_not_fit_the_field_naming_what_to_fix(client):
    Admin(client)
    cases = {
        "field=review_result&operator=is&value=maybe": "value",     # not one of its choices
        "field=review_result&operator=gt&value=pass": "operator",   # no order on a choice
        "field=funds_spent&operator=gt&value=lots": "value",        # not a number
        "field=completed_on&operator=lt&value=31/12/2026": "value",  # not a date
        "field=no_such_field&operator=is&value=1": "field",
        "field=review_result&operator=is&value=pass&value=fail": "value",
        "field=review_result&operator=is": "value",
    }
    for query, wrong in cases.items():
        resp = client.get(f"{BUILDER}?form=review&form=rectify&{query}&lang=en")
        assert resp.status_code == 422, query
        assert wrong in resp.get_json()["fields"], (query, resp.get_json())
    odd = client.get(f"{BUILDER}?form=review&field=review_result&operator=is&value=%00&lang=en")
    assert odd.status_code == 422
    huge = client.get(f"{BUILDER}?" + "&".join(["form=review"] * 60) + "&lang=en")
    assert huge.status_code == 422 and "form" in huge.get_json()["fields"]


def test_only_administrators_may_use_the_builder(client):
    Admin(client, "inspector")
    assert client.get(f"{BUILDER}?form=review").status_code == 403


def test_the_builder_of_a_process_with_an_impossible_name_is_not_found(client):
    Admin(client)
    assert client.get("/admin/processes/no%20such/condition-builder").status_code == 404


# -------------------------------------------------------------------------------------------- the designer page
def test_the_designer_offers_the_status_vocabulary_with_labels_and_the_builder(client):
    Admin(client)
    html = client.get(f"/admin/processes/{KEY}/designer?lang=zh").get_data(as_text=True)
    options = json.loads(lxml.html.fromstring(html).get_element_by_id("hl-designer-options").text)
    statuses = {s["value"]: s["label"] for s in options["statuses"]}
    assert statuses["verifying"] == "政府审查中" and statuses["rectifying"] == "整改中"
    assert "closed" not in statuses  # a step does not close the hazard; the end does
    assert options["condition_url"].endswith("/condition-builder")
    assert "designer-i18n.js" in html and "designer-palette.js" in html


# ------------------------------------------------------------------------------------------- change summaries
def summary_of(client, lang: str) -> list[str]:
    html = client.get(f"/admin/processes/{KEY}/diff?from=1&to=2&lang={lang}").get_data(as_text=True)
    return [" ".join(li.text_content().split()) for li in lxml.html.fromstring(html).xpath("//ul[@id='hl-change-summary']/li")]


def test_the_change_summary_names_steps_and_old_and_new_values_in_chinese_and_english(app, client):
    admin = Admin(client)
    client.get("/admin/processes")
    resp = admin.post_json(f"/admin/processes/{KEY}/deploy", {"xml": changed_version(dd.shipped())})
    assert resp.status_code == 201

    zh = summary_of(client, "zh")
    assert "步骤改名: 验收评估 → 局领导核查" in zh
    assert "时限 “10日审查时限”: 10天 → 7天" in zh
    assert any(line.startswith("新增步骤 “复核分级”") and "整改复查" in line for line in zh)
    assert not any("timer" in line or "name" in line for line in zh)

    en = summary_of(client, "en")
    assert "Step renamed: 验收评估 → 局领导核查" in en
    assert "Time limit “10日审查时限”: 10 days → 7 days" in en


def test_the_designer_summary_before_deploying_says_the_same(client):
    admin = Admin(client)
    client.get("/admin/processes")
    resp = admin.post_json(f"/admin/processes/{KEY}/changes?lang=en", {"xml": changed_version(dd.shipped())})
    lines = {(line["text"], line["before"], line["after"]) for line in resp.get_json()["summary"]}
    assert ("Step renamed", "验收评估", "局领导核查") in lines
    assert ("Time limit “10日审查时限”", "10 days", "7 days") in lines


def test_a_new_lane_and_a_changed_form_are_summarised(app):
    with app.test_request_context("/?lang=en"):
        from app.engine.diagram import compare, read_diagram
        from app.services.process_changes import summarize

        old_xml = dd.shipped()
        new_xml = dd.set_property(old_xml, "review", "formKey", "acceptance")
        new_xml = new_xml.replace('name="监管人员"', 'name="局领导"')
        old, new = read_diagram(old_xml), read_diagram(new_xml)
        texts = {(line.text, line.before, line.after) for line in summarize(old, new, compare(old, new))}
    assert ("New lane “局领导”", None, None) in texts
    assert ("Form of “整改复查”", "Review the rectification", "Acceptance assessment") in texts


# ------------------------------------------------------------------------------------------ migration preview
def test_the_migration_preview_names_steps_says_what_changes_and_ticks_nothing(app, client, api):
    at_assess = report(api.as_("officer_a"))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        number = designer.deploy(admin_user(), KEY, changed_version(dd.shipped())).number
        preview = migration.preview(admin_user(), KEY, number)
        move = next(m for m in preview.instances if m.hazard_id == at_assess["id"])
        assert move.movable and move.steps == ["评估分级"]
        assert "It will be at the step “评估分级”." in move.changes
        assert "Later it will also go through the new step “复核分级”." in move.changes

    Admin(client)
    html = client.get(f"/admin/processes/{KEY}/migrate?to={number}&lang=zh").get_data(as_text=True)
    page = lxml.html.fromstring(html)
    assert page.xpath("//input[@name='instance'][@checked]") == [] and page.xpath("//input[@id='hl-all'][@checked]") == []
    row = page.xpath(f"//tr[@data-instance='{move.instance_id}']")[0]
    assert row.xpath(".//td[contains(@class, 'hl-steps')]")[0].text_content().strip() == "评估分级"
    assert "复核分级" in row.xpath(".//ul[contains(@class, 'hl-what-changes')]")[0].text_content()
    assert "element id" not in html and not re.search(r"元素\s*ID|元素编号", html)


def test_the_migration_preview_says_a_running_time_limit_keeps_its_date(app, api):
    officer = api.as_("officer_a")
    at_assess = report(officer)
    xml = dd.add_boundary_timer(dd.shipped(), "assess", "assess_limit", '"P3D"')
    with app.test_request_context(headers={"Accept-Language": "en"}):
        designer.deploy(admin_user(), KEY, xml)
    at_assess = report(officer)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        number = designer.deploy(admin_user(), KEY, xml.replace('"P3D"', '"P2D"')).number
        move = next(m for m in migration.preview(admin_user(), KEY, number).instances
                    if m.hazard_id == at_assess["id"])
    assert any(c.startswith("Time limit “提醒”: 3 days → 2 days.") and "keeps its due date" in c
               for c in move.changes), move.changes
