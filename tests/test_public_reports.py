"""Reports from the public (issue 15): no account, a tracking code and a PIN, abuse kept out, the reporter's
identity encrypted and shown only to the unit's inspectors, each reading audited."""
from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Attachment, AuditEvent, Organisation, PublicReport, Region, User
from app.services import public_reports
from app.services.demo import tiny_png
from config import TestConfig

NAME, MOBILE = "王小明", "13912345678"


def _challenge(client) -> str:
    resp = client.get("/api/v1/public/challenge")
    assert resp.status_code == 200, resp.get_json()
    return public_reports.solve(resp.get_json())


def _enterprise_id(app, name: str = "宏达机械制造有限公司") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))


def _region_id(app, code: str = "D01-T01") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Region.id).where(Region.code == code))


def _body(client, app, **overrides) -> dict:
    body = {"description": "夜间仓库门口堆放大量易燃纸箱，堵住了安全出口", "enterprise_id": _enterprise_id(app),
            "seen_on": date.today().isoformat(), "name": NAME, "contact": MOBILE, "altcha": _challenge(client)}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def send(client, app, status: int = 201, **overrides) -> dict:
    resp = client.post("/api/v1/public/reports", json=_body(client, app, **overrides))
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


# ------------------------------------------------------------------------------------------------ report and follow
def test_a_member_of_the_public_reports_by_json_and_follows_it_with_code_and_pin(client, app):
    receipt = send(client, app)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{10}", receipt["tracking_code"])
    assert re.fullmatch(r"\d{6}", receipt["pin"]) and receipt["already_known"] is False
    resp = client.get(f"/api/v1/public/reports/{receipt['tracking_code'].lower()}?pin={receipt['pin']}")
    assert resp.status_code == 200, resp.get_json()
    status = resp.get_json()
    assert status["status"] == "received" and status["hazard_state"] is None and status["outcome"] is None
    assert set(status) == {"tracking_code", "status", "outcome", "received_on", "already_known", "hazard_state",
                           "reward", "reward_amount"}


def test_a_wrong_pin_gets_exactly_the_answer_of_an_unknown_code(client, app):
    receipt = send(client, app)
    code, pin = receipt["tracking_code"], receipt["pin"]
    wrong_pin = client.get(f"/api/v1/public/reports/{code}?pin={(int(pin) + 1) % 1_000_000:06d}")
    unknown = client.get(f"/api/v1/public/reports/{'Z' * 10}?pin={pin}")
    no_pin = client.get(f"/api/v1/public/reports/{code}")
    assert wrong_pin.status_code == unknown.status_code == no_pin.status_code == 404
    # The same answer but for the request id every answer carries (it names the request, not the report).
    answers = [r.get_json() for r in (wrong_pin, unknown, no_pin)]
    assert all(a.pop("request_id") for a in answers)
    assert answers[0] == answers[1] == answers[2]
    assert wrong_pin.data.replace(wrong_pin.headers["X-Request-ID"].encode(), b"") \
        == unknown.data.replace(unknown.headers["X-Request-ID"].encode(), b"")


def test_photos_come_by_multipart_or_by_uploaded_ids_and_only_photos(client, app):
    body = _body(client, app)
    body["photos"] = [(io.BytesIO(tiny_png()), "a.png"), (io.BytesIO(tiny_png((0, 0, 200))), "b.png")]
    resp = client.post("/api/v1/public/reports", data=body, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    uploaded = client.post("/api/v1/public/attachments", data={"file": (io.BytesIO(tiny_png()), "c.png")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    token = uploaded.get_json()["id"]
    second = send(client, app, description="另一处：配电箱门没有关，电线裸露", attachment_ids=[token])
    # The same id cannot be used again, nor a made-up one.
    send(client, app, 422, description="第三处：消防通道被车辆堵塞", attachment_ids=[token])
    send(client, app, 422, description="第三处：消防通道被车辆堵塞", attachment_ids=["1"])
    pdf = client.post("/api/v1/public/attachments", data={"file": (io.BytesIO(b"%PDF-1.4\n" + b"0" * 100), "x.pdf")},
                      content_type="multipart/form-data")
    assert pdf.status_code == 422 and "file" in pdf.get_json()["fields"]
    with app.app_context():
        rows = db.session.scalars(sa.select(Attachment).where(Attachment.public_report_id.is_not(None))).all()
        assert len(rows) == 3 and all(r.owner_id is None and r.kind == "image" for r in rows)
        report = db.session.scalar(sa.select(PublicReport).where(PublicReport.tracking_code == second["tracking_code"]))
        assert [r.public_report_id for r in rows].count(report.id) == 1


def test_every_field_is_checked_and_named(client, app):
    resp = client.post("/api/v1/public/reports", json={
        "description": "", "enterprise_id": 999999, "seen_on": (date.today() + timedelta(days=2)).isoformat(),
        "contact": "not a phone", "altcha": "x"})
    assert resp.status_code == 422
    fields = resp.get_json()["fields"]
    assert {"description", "enterprise_id", "seen_on", "contact"} <= set(fields), fields
    # Without an enterprise, the address and the region are needed.
    fields = send(client, app, 422, enterprise_id=None)["fields"]
    assert {"address", "region_id"} <= set(fields)
    assert send(client, app, enterprise_id=None, address="东湖路 8 号", region_id=_region_id(app))["pin"]
    assert "unexpected" in send(client, app, 422, unexpected=1)["fields"]
    resp = client.post("/api/v1/public/reports", data=b"{", content_type="application/json")
    assert resp.status_code == 400


def test_a_closed_enterprise_cannot_be_named(client, app):
    with app.app_context():
        enterprise = db.session.get(Organisation, _enterprise_id(app, "明辉商贸物流有限公司"))
        enterprise.status = "closed"
        closed_id = enterprise.id
        db.session.commit()
    assert "enterprise_id" in send(client, app, 422, enterprise_id=closed_id)["fields"]
    names = [i["name"] for i in client.get("/public/enterprises/search?q=有限公司").get_json()["items"]]
    assert "宏达机械制造有限公司" in names and "明辉商贸物流有限公司" not in names


# ------------------------------------------------------------------------------------------------ abuse control
def test_the_challenge_is_required_and_each_solution_serves_one_report(client, app):
    assert "altcha" in send(client, app, 422, altcha="")["fields"]
    forged = public_reports.solve({**client.get("/api/v1/public/challenge").get_json(), "signature": "0" * 64})
    assert "altcha" in send(client, app, 422, altcha=forged)["fields"]
    solution = _challenge(client)
    send(client, app, altcha=solution)
    again = send(client, app, 422, altcha=solution, description="完全不同的内容：楼顶广告牌松动")
    assert "altcha" in again["fields"]


def test_reports_are_limited_per_address_on_the_shared_store(tmp_path, app):
    limited = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         INSTANCE_DIR=tmp_path, UPLOAD_DIR=tmp_path / "uploads", RATELIMIT_ENABLED=True,
                         RATELIMIT_KEY_PREFIX=uuid.uuid4().hex, PUBLIC_REPORT_LIMIT="2 per hour",
                         PUBLIC_LOOKUP_LIMIT="3 per hour")
    client = limited.test_client()

    def post(address: str, n: int):
        with limited.app_context():
            body = _body(client, limited, description=f"第{n}处：脚手架没有防护网，材料可能坠落")
        return client.post("/api/v1/public/reports", json=body, environ_base={"REMOTE_ADDR": address})

    statuses = [post("10.9.0.1", n).status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    # The page shares the API's limit: the same address is refused there too.
    page = client.post("/public/report", data={"csrf_token": _csrf(client, "/public/report")},
                       environ_base={"REMOTE_ADDR": "10.9.0.1"})
    assert page.status_code == 429
    assert post("10.9.0.2", 9).status_code == 201  # another address is not affected
    lookups = [client.get(f"/api/v1/public/reports/{'A' * 10}?pin=000000",
                          environ_base={"REMOTE_ADDR": "10.9.0.3"}).status_code for _ in range(4)]
    assert lookups == [404, 404, 404, 429]  # guessing PINs stops quickly


def test_the_same_enterprise_and_a_similar_description_is_linked_as_already_known(client, app):
    first = send(client, app, description="仓库门口堆放大量易燃纸箱，堵住了安全出口！")
    again = send(client, app, description="仓库门口堆放了大量易燃纸箱,堵住安全出口")
    other = send(client, app, description="食堂燃气管道有明显的漏气味道")
    assert (first["already_known"], again["already_known"], other["already_known"]) == (False, True, False)
    status = client.get(f"/api/v1/public/reports/{again['tracking_code']}?pin={again['pin']}").get_json()
    assert status["already_known"] is True
    with app.app_context():
        rows = {r.tracking_code: r for r in db.session.scalars(sa.select(PublicReport))}
        assert rows[again["tracking_code"]].duplicate_of_id == rows[first["tracking_code"]].id
        assert rows[other["tracking_code"]].duplicate_of_id is None
    # Another enterprise, or after the window, is not a duplicate.
    elsewhere = send(client, app, description="仓库门口堆放大量易燃纸箱，堵住了安全出口",
                     enterprise_id=_enterprise_id(app, "绿源化工有限公司"))
    assert elsewhere["already_known"] is False


def test_similarity_ignores_case_width_and_punctuation():
    assert public_reports.similarity("Fire exit BLOCKED!", "ｆｉｒｅ exit blocked") == 1.0
    assert public_reports.similarity("消防通道被堵", "配电箱漏电") < 0.5


# ------------------------------------------------------------------------------------------------ confidentiality
def test_the_reporters_identity_is_encrypted_at_rest(client, app):
    receipt = send(client, app, contact="wang@example.com")
    with app.app_context():
        row = db.session.execute(sa.text("SELECT * FROM public_report WHERE tracking_code = :c"),
                                 {"c": receipt["tracking_code"]}).mappings().one()
        stored = " ".join(str(v) for v in row.values())
        assert NAME not in stored and "wang@example.com" not in stored and receipt["pin"] not in stored
        assert row["reporter_name"].startswith("gAAAA")  # a Fernet token
    # Another key cannot read it.
    with app.app_context():
        app.config["REPORTER_KEY"] = "another-key"
        try:
            from app.services import reporter_secrets

            assert reporter_secrets.unseal(row["reporter_name"]) == ""
        finally:
            app.config["REPORTER_KEY"] = TestConfig.REPORTER_KEY


def _login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": username, "password": "hazardloop", "csrf_token": token})
    assert resp.status_code == 302


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_only_the_units_inspectors_read_the_reporter_and_each_reading_is_audited(app):
    public = app.test_client()
    receipt = send(public, app)
    with app.app_context():
        report_id = db.session.scalar(sa.select(PublicReport.id).where(
            PublicReport.tracking_code == receipt["tracking_code"]))
    inspector = app.test_client()
    _login(inspector, "inspector")
    listing = inspector.get("/public-reports").get_data(as_text=True)
    assert receipt["tracking_code"] in listing
    detail = inspector.get(f"/public-reports/{report_id}").get_data(as_text=True)
    assert NAME not in detail and MOBILE not in detail  # hidden until asked for
    shown = inspector.post(f"/public-reports/{report_id}/reporter",
                           data={"csrf_token": _csrf(inspector, f"/public-reports/{report_id}")})
    assert shown.status_code == 200 and NAME in shown.get_data(as_text=True) and MOBILE in shown.get_data(as_text=True)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reporter_details_read")).all()
        inspector_id = db.session.scalar(sa.select(User.id).where(User.username == "inspector"))
        assert [(e.actor_id, e.hazard_id, str(report_id) in e.data) for e in events] == [(inspector_id, None, True)]
        assert NAME not in events[0].data
    # The enterprise's people, an administrator, and an inspector of another township: nothing.
    for username in ("officer_a", "principal_a", "admin", "inspector_west"):
        other = app.test_client()
        _login(other, username)
        assert other.get(f"/public-reports/{report_id}").status_code == 404, username
        assert receipt["tracking_code"] not in other.get("/public-reports").get_data(as_text=True)
        token = _csrf(other, "/public/status")
        assert other.post(f"/public-reports/{report_id}/reporter", data={"csrf_token": token}).status_code == 404


def test_the_unit_sees_the_photos_and_nobody_else(app):
    public = app.test_client()
    body = _body(public, app)
    body["photos"] = [(io.BytesIO(tiny_png()), "a.png")]
    assert public.post("/api/v1/public/reports", data=body, content_type="multipart/form-data").status_code == 201
    with app.app_context():
        photo_id = db.session.scalar(sa.select(Attachment.id).where(Attachment.public_report_id.is_not(None)))
    assert public.get(f"/attachments/{photo_id}").status_code in (302, 401)  # sign in first
    inspector = app.test_client()
    _login(inspector, "inspector")
    assert inspector.get(f"/attachments/{photo_id}").status_code == 200
    officer = app.test_client()
    _login(officer, "officer_a")
    assert officer.get(f"/attachments/{photo_id}").status_code == 404


# ------------------------------------------------------------------------------------------------ the page
def test_the_public_page_reports_with_a_photo_and_shows_code_and_pin_then_the_status(client, app):
    form = client.get("/public/report?lang=en")
    assert form.status_code == 200 and "Report a hazard to the authorities" in form.get_data(as_text=True)
    challenge = re.search(r'data-hl-altcha="([^"]+)"', form.get_data(as_text=True)).group(1)
    import html
    import json

    solution = public_reports.solve(json.loads(html.unescape(challenge)))
    data = {"csrf_token": _csrf(client, "/public/report"), "description": "工地塔吊附近没有设置警戒区",
            "enterprise_name": "宏达机械", "seen_on": date.today().isoformat(), "altcha": solution,
            "photos": (io.BytesIO(tiny_png()), "site.png")}
    resp = client.post("/public/report", data=data, content_type="multipart/form-data")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 201, text
    code = re.search(r'id="public-code">([0-9A-Z]{10})<', text).group(1)
    pin = re.search(r'id="public-pin">(\d{6})<', text).group(1)
    status = client.post("/public/status", data={"csrf_token": _csrf(client, "/public/status"),
                                                 "tracking_code": code, "pin": pin})
    assert status.status_code == 200 and "waiting for the inspectors" in status.get_data(as_text=True)
    wrong = client.post("/public/status", data={"csrf_token": _csrf(client, "/public/status"),
                                                "tracking_code": code, "pin": "000000" if pin != "000000" else "1"})
    assert wrong.status_code == 404


def test_the_public_form_keeps_what_was_typed_and_names_the_fields(client, app):
    resp = client.post("/public/report", data={"csrf_token": _csrf(client, "/public/report"),
                                               "description": "楼道堆放电动车充电", "seen_on": "tomorrow"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "楼道堆放电动车充电" in text
    assert 'id="p-seen_on-error"' in text and 'id="p-address-error"' in text
    no_csrf = client.post("/public/report", data={"description": "x"})
    assert no_csrf.status_code == 400


# ------------------------------------------------------------------------------------------------ the answer, reward
def _report_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(PublicReport.id).where(PublicReport.tracking_code == code))


def _signed_in(app, username: str):
    client = app.test_client()
    _login(client, username)
    return client


def _answer(client, report_id: int, decision: str, **values):
    token = _csrf(client, f"/public-reports/{report_id}")
    return client.post(f"/public-reports/{report_id}/answer", data={"csrf_token": token, "decision": decision,
                                                                     **values})


def _status(client, receipt) -> dict:
    resp = client.get(f"/api/v1/public/reports/{receipt['tracking_code']}?pin={receipt['pin']}")
    assert resp.status_code == 200
    return resp.get_json()


ACCEPT = {"title": "仓库安全出口被纸箱堵塞", "location": "成品仓库东门", "hazard_type": "unsafe_condition",
          "description": "安全出口被易燃纸箱堵塞", "outcome": "已受理，已通知企业整改"}


def test_an_accepted_report_opens_a_hazard_the_enterprise_sees_without_the_reporter(app, api):
    public = app.test_client()
    receipt = send(public, app)
    report_id = _report_id(app, receipt["tracking_code"])
    inspector = _signed_in(app, "inspector")
    assert _answer(inspector, report_id, "accept", **ACCEPT).status_code == 302
    with app.app_context():
        report = db.session.get(PublicReport, report_id)
        hazard_id = report.hazard_id
        assert report.status == "accepted" and hazard_id is not None
    status = _status(public, receipt)
    assert (status["status"], status["hazard_state"], status["outcome"]) == ("accepted", "in_progress",
                                                                             "已受理，已通知企业整改")
    # The enterprise: the hazard, its source, and no trace of who reported (page, API, register).
    officer = api.as_("officer_a")
    detail = officer.get(f"/hazards/{hazard_id}")
    assert detail.status_code == 200 and detail.get_json()["source"] == "public_report"
    officer_page = _signed_in(app, "officer_a")
    seen = " ".join([detail.get_data(as_text=True), officer.get("/hazards").get_data(as_text=True),
                     officer_page.get(f"/hazards/{hazard_id}").get_data(as_text=True),
                     officer_page.get("/hazards").get_data(as_text=True)])
    for secret in (NAME, MOBILE, receipt["tracking_code"], receipt["pin"]):
        assert secret not in seen
    assert officer_page.get("/public-rewards").status_code == 403
    assert officer_page.get("/public-rewards.xlsx").status_code == 403
    assert officer_page.get("/public-reports").status_code == 403  # the unit's list is not the enterprise's
    # A second answer is refused; the report stays accepted.
    again = _answer(inspector, report_id, "reject", outcome="重复")
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(PublicReport, report_id).status == "accepted"
    # The hazard runs its normal lifecycle; once it is fixed, the reporter reads it.
    from tests.helpers import complete, current_task
    from tests.test_api_lifecycle import assess_general, rectify

    assess_general(api, hazard_id)
    rectify(api, hazard_id)
    principal = api.as_("principal_a")
    complete(principal, current_task(principal, hazard_id, "review"), {"review_result": "pass"})
    assert _status(public, receipt)["hazard_state"] == "fixed"


def test_a_rejection_needs_a_reason_which_the_reporter_reads(app):
    public = app.test_client()
    receipt = send(public, app)
    report_id = _report_id(app, receipt["tracking_code"])
    inspector = _signed_in(app, "inspector")
    refused = _answer(inspector, report_id, "reject")
    assert refused.status_code == 422 and 'id="p-outcome-error"' in refused.get_data(as_text=True)
    assert _answer(inspector, report_id, "reject", outcome="经现场核查，未发现所述情况").status_code == 302
    status = _status(public, receipt)
    assert (status["status"], status["outcome"]) == ("rejected", "经现场核查，未发现所述情况")


def test_a_referral_hands_the_report_to_the_other_unit(app):
    public = app.test_client()
    receipt = send(public, app)
    report_id = _report_id(app, receipt["tracking_code"])
    with app.app_context():
        west = db.session.scalar(sa.select(Organisation.id).where(Organisation.name == "西山镇安全生产监管站"))
    west_inspector = _signed_in(app, "inspector_west")
    assert west_inspector.get(f"/public-reports/{report_id}").status_code == 404
    assert _answer(_signed_in(app, "inspector"), report_id, "refer", unit_id=str(west)).status_code == 302
    assert west_inspector.get(f"/public-reports/{report_id}").status_code == 200
    assert _status(public, receipt)["status"] == "referred"


def test_a_merge_links_the_report_to_a_hazard_the_inspector_supervises(app, api):
    from tests.helpers import report as report_hazard

    hazard = report_hazard(api.as_("officer_a"))
    public = app.test_client()
    receipt = send(public, app)
    report_id = _report_id(app, receipt["tracking_code"])
    inspector = _signed_in(app, "inspector")
    assert _answer(inspector, report_id, "merge", hazard_id="999999").status_code == 422
    assert _answer(inspector, report_id, "merge", hazard_id=str(hazard["id"])).status_code == 302
    assert _status(public, receipt) | {} == {**_status(public, receipt), "status": "merged",
                                              "hazard_state": "in_progress"}


def test_a_reward_is_proposed_by_an_inspector_and_decided_by_the_head_of_the_bureau(app):
    from openpyxl import load_workbook

    public = app.test_client()
    receipt = send(public, app)
    report_id = _report_id(app, receipt["tracking_code"])
    inspector = _signed_in(app, "inspector")
    page = inspector.get(f"/public-reports/{report_id}").get_data(as_text=True)
    assert 'id="reward-propose"' not in page  # not before the report is accepted
    _answer(inspector, report_id, "accept", **ACCEPT)
    token = _csrf(inspector, f"/public-reports/{report_id}")
    bad = inspector.post(f"/public-reports/{report_id}/reward", data={"csrf_token": token, "amount": "-5",
                                                                     "reason": ""})
    assert bad.status_code == 422 and 'id="p-amount-error"' in bad.get_data(as_text=True)
    ok = inspector.post(f"/public-reports/{report_id}/reward", data={
        "csrf_token": token, "amount": "500", "reason": "=HYPERLINK(\"http://x\") 举报属实，隐患已受理"})
    assert ok.status_code == 302
    assert _status(public, receipt)["reward"] is None  # proposed, not yet decided
    with app.app_context():
        from app.models import Notification

        told = db.session.scalars(sa.select(User.username).join(Notification, Notification.user_id == User.id)
                                  .where(Notification.kind == "public_reward_proposed")).all()
        assert told == ["bureau_head"]
    # An ordinary inspector cannot decide; the head of the bureau can.
    assert inspector.post(f"/public-reports/{report_id}/reward/decision",
                          data={"csrf_token": token, "approve": "1"}).status_code == 403
    head = _signed_in(app, "bureau_head")
    assert head.post(f"/public-reports/{report_id}/reward/decision",
                     data={"csrf_token": _csrf(head, f"/public-reports/{report_id}"), "approve": "1"}).status_code == 302
    status = _status(public, receipt)
    assert (status["reward"], status["reward_amount"]) == ("approved", 50000)
    page = public.post("/public/status", data={"csrf_token": _csrf(public, "/public/status"),
                                               "tracking_code": receipt["tracking_code"], "pin": receipt["pin"]})
    assert "¥500" in page.get_data(as_text=True)
    # The ledger and its export: the reward, no reporter, the reason as text (never a formula).
    assert receipt["tracking_code"] in head.get("/public-rewards").get_data(as_text=True)
    export = head.get("/public-rewards.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[1][0] == receipt["tracking_code"] and rows[1][2] == 500
    assert sheet.cell(row=2, column=5).data_type == "s"
    flat = " ".join(str(v) for row in rows for v in row)
    assert NAME not in flat and MOBILE not in flat
    with app.app_context():
        actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.hazard_id.is_(None)))]
        assert {"public_report_answered", "public_reward_proposed", "public_reward_decided"} <= set(actions)


def test_the_unit_is_told_of_a_new_report_and_sees_when_its_answer_is_overdue(app):
    from app.clock import clock
    from app.models import Notification

    public = app.test_client()
    receipt = send(public, app)
    send(public, app)  # the same again: a duplicate tells nobody a second time
    with app.app_context():
        rows = db.session.scalars(sa.select(Notification).where(Notification.kind == "public_report_received")).all()
        inspector_id = db.session.scalar(sa.select(User.id).where(User.username == "inspector"))
        assert inspector_id in [r.user_id for r in rows] and len({r.params for r in rows}) == 1
        assert receipt["tracking_code"] in rows[0].params and NAME not in rows[0].params
    inspector = _signed_in(app, "inspector")
    assert "hl-overdue" not in inspector.get("/public-reports").get_data(as_text=True)
    with app.app_context():
        from app.services import timers

        assert timers.tick().alerts == 0
    clock.advance(days=8)  # past the triage diagram's first-answer deadline (7 days)
    assert "hl-overdue" in inspector.get("/public-reports").get_data(as_text=True)
    # The deadline timer fires once and tells the unit that the answer is overdue (tests/test_public_triage.py).
    with app.app_context():
        assert timers.tick().fired == 1 and timers.tick().fired == 0
        told = db.session.scalars(sa.select(Notification).where(Notification.kind == "public_report_overdue")).all()
        assert inspector_id in [n.user_id for n in told] and receipt["tracking_code"] in told[0].params
