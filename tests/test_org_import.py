"""Bulk onboarding from Excel (issue 12): the template, every kind of bad row named by sheet, row and column, good
rows imported, re-import a no-op (no writes, no audit events), a database failure mid-file leaves nothing, the
CLI and the upload page (a background job whose progress the page polls)."""
from __future__ import annotations

import io
import time

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select, text

from app.extensions import db
from app.models import (
    AuditEvent,
    ImportJob,
    Jurisdiction,
    Organisation,
    OrgKind,
    Region,
    RegionKind,
    Role,
    User,
)
from app.services import org_import
from app.services.org_codes import credit_code_check_char
from tests.test_pages import Pages


def cc(n: int) -> str:
    """A valid unified social credit code (its check character computed)."""
    body = f"91110000MA{n:07d}"
    return body + credit_code_check_char(body)


def book(sheets: dict[str, list[list]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def other_district(app):
    """A second district (D02) with its bureau and an enterprise: outside the demo administrator's district."""
    with app.app_context():
        district = Region(code="D02", name="邻区", kind=RegionKind.district)
        township = Region(code="D02-T01", name="邻区街道", kind=RegionKind.township, parent=district)
        db.session.add_all([district, township])
        db.session.flush()
        bureau = Organisation(kind=OrgKind.government, name="邻区应急管理局")
        db.session.add(bureau)
        db.session.flush()
        db.session.add(Jurisdiction(unit_id=bureau.id, region_id=district.id))
        db.session.add(Organisation(kind=OrgKind.enterprise, name="邻区工厂", region_id=township.id, industry="C26",
                                    credit_code=cc(900), supervising_unit_id=bureau.id))
        db.session.commit()


def good_and_bad() -> bytes:
    """Good rows and bad rows of every kind, in Chinese and English headers."""
    return book({
        "区域": [
            ["代码", "名称", "类型", "上级代码", "备注"],
            ["EX-1", "示例", "street", "D01", "示例"],                  # 2 example: skipped
            ["D01-T03", "南湖街道", "街道", "D01", None],                # 3 good
            ["D01-T03-G01", "南湖第一网格", "网格", "D01-T03", None],     # 4 good (parent on a row above)
            ["D01-T03", "重复", "街道", "D01", None],                    # 5 duplicate code within the file
            ["D01-T09", "邻区里的街道", "街道", "D02", None],              # 6 parent outside the district
            ["D01-T10", None, "街道", "D01", None],                      # 7 missing name
        ],
        "Units": [
            ["Name", "Parent unit", "Jurisdiction"],
            ["南湖街道安全生产监管站", "示范区应急管理局", "D01-T03"],         # 2 good
            ["越界站", "示范区应急管理局", "D02-T01"],                      # 3 jurisdiction outside the district
        ],
        "企业": [
            ["统一社会信用代码", "企业名称", "行业代码", "所在区域代码", "规模", "联系电话"],
            [cc(11), "南湖一厂", "C26", "D01-T03-G01", "小型", "010-12345678"],   # 2 good
            [cc(12), "南湖二厂", "C34", "D01-T03-G01", None, None],             # 3 good
            ["91110000MA0000011X", "校验位错", "C26", "D01-T03-G01", None, None],  # 4 bad credit code
            [cc(11), "重复代码", "C26", "D01-T03-G01", None, None],              # 5 duplicate within the file
            [cc(13), "行业不存在", "Z99", "D01-T03-G01", None, None],            # 6 unknown industry
            [cc(14), "区域不存在", "C26", "NOWHERE", None, None],                # 7 unknown region
            [cc(15), "邻区企业", "C26", "D02-T01", None, None],                  # 8 region outside the district
            [cc(16), None, "C26", "D01-T03-G01", None, None],                   # 9 missing name
            [cc(900), "抢注", "C26", "D01-T03-G01", None, None],                 # 10 credit code of another district
        ],
        "People": [
            ["User name", "Name", "Role", "Organisation", "Mobile", "E-mail"],
            ["nanhu_officer", "南湖安全员", "安全员", cc(11), 13800138000, None],           # 2 good
            ["nanhu_inspector", "南湖检查员", "inspector", "南湖街道安全生产监管站", None, None],  # 3 good
            ["bad_mobile", "号码错", "officer", cc(12), "12345", None],                    # 4 weak mobile
            ["no_name", None, "officer", cc(12), None, None],                            # 5 missing name
            ["outsider", "越界", "officer", cc(900), None, None],                        # 6 enterprise not managed
            ["NANHU_OFFICER", "重复", "officer", cc(12), None, None],                    # 7 duplicate user name
            ["bad_mail", "邮箱错", "officer", cc(12), None, "not-an-address"],            # 8 bad e-mail
            ["no_org", "无单位", "officer", cc(99), None, None],                         # 9 unknown enterprise
        ],
    })


EXPECTED_BAD = {
    ("区域", 5, "代码"), ("区域", 6, "上级代码"), ("区域", 7, "名称"),
    ("Units", 3, "Jurisdiction"),
    ("企业", 4, "统一社会信用代码"), ("企业", 5, "统一社会信用代码"), ("企业", 6, "行业代码"), ("企业", 7, "所在区域代码"),
    ("企业", 8, "所在区域代码"), ("企业", 9, "企业名称"), ("企业", 10, "统一社会信用代码"),
    ("People", 4, "Mobile"), ("People", 5, "Name"), ("People", 6, "Organisation"), ("People", 7, "User name"),
    ("People", 8, "E-mail"), ("People", 9, "Organisation"),
}


def admin_user(username: str = "admin") -> User:
    return db.session.scalar(select(User).where(User.username == username))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


class Writes:
    """Counts the INSERT, UPDATE and DELETE statements the database is sent."""

    def __init__(self):
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append(statement)


def test_good_rows_are_imported_bad_rows_named_and_reimport_changes_nothing(app, other_district):
    with app.app_context():
        audit_before = count(AuditEvent)
        outcome = org_import.import_workbook(admin_user(), io.BytesIO(good_and_bad()), batch=2)
        found = {(p.sheet, p.row, p.column) for p in outcome.problems}
        assert found == EXPECTED_BAD, [p for p in outcome.problems]
        assert outcome.bad_rows == len(EXPECTED_BAD)
        assert outcome.counts["regions"]["examples"] == 1
        assert {k: outcome.counts[k]["created"] for k in outcome.counts} == {
            "regions": 2, "units": 1, "enterprises": 2, "people": 2}
        messages = {(p.sheet, p.row): p.message for p in outcome.problems}
        assert "GB 32100-2015" in messages[("企业", 4)]  # the check character is wrong
        assert cc(11) in messages[("企业", 5)] and "2" in messages[("企业", 5)]  # names the row it repeats
        grid = db.session.scalar(select(Region).where(Region.code == "D01-T03-G01"))
        station = db.session.scalar(select(Organisation).where(Organisation.name == "南湖街道安全生产监管站"))
        first = db.session.scalar(select(Organisation).where(Organisation.credit_code == cc(11)))
        assert first.region_id == grid.id and first.supervising_unit_id == station.id
        assert first.scale.value == "small" and first.contact_phone == "010-12345678"
        officer = admin_user("nanhu_officer")
        assert officer.organisation_id == first.id and officer.role == Role.officer
        assert officer.mobile == "13800138000"
        assert officer.must_change_password and officer.password_hash == org_import.UNUSABLE_PASSWORD
        assert db.session.scalar(select(Organisation).where(Organisation.credit_code == cc(900))).name == "邻区工厂"
        assert count(AuditEvent) > audit_before
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)).all()
        assert actions == ["org_import"]

        audit_after, users_after, orgs_after = count(AuditEvent), count(User), count(Organisation)
        db.session.expire_all()
        with Writes() as writes:
            again = org_import.import_workbook(admin_user(), io.BytesIO(good_and_bad()), batch=2)
        assert writes.statements == []
        assert {k: again.counts[k]["unchanged"] for k in again.counts} == {
            "regions": 2, "units": 1, "enterprises": 2, "people": 2}
        assert all(c["created"] == 0 and c["updated"] == 0 for c in again.counts.values())
        assert {(p.sheet, p.row, p.column) for p in again.problems} == EXPECTED_BAD
        assert (count(AuditEvent), count(User), count(Organisation)) == (audit_after, users_after, orgs_after)


@pytest.mark.postgres_only
def test_an_import_that_wrote_refreshes_the_planners_statistics(app, backend, other_district):
    """The lists after an onboarding are planned for the imported rows, not for yesterday's empty tables."""
    if backend != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    with app.app_context():
        def analyzed() -> dict:
            return dict(db.session.execute(text(
                "SELECT relname, greatest(last_analyze, last_autoanalyze) FROM pg_stat_user_tables "
                "WHERE relname IN ('organisation', 'user_account')")).all())
        before = analyzed()
        org_import.import_workbook(admin_user(), io.BytesIO(good_and_bad()), batch=2, dry_run=True)
        db.session.commit()
        assert analyzed() == before  # a dry run changes nothing, not even the statistics
        org_import.import_workbook(admin_user(), io.BytesIO(good_and_bad()), batch=2)
        db.session.commit()
        after = analyzed()
        assert all(after[t] is not None and (before.get(t) is None or after[t] > before[t])
                   for t in ("organisation", "user_account")), (before, after)


def test_a_large_file_is_read_by_a_child_process_with_the_same_answer(app, other_district, tmp_path):
    path = tmp_path / "onboarding.xlsx"
    path.write_bytes(good_and_bad())
    with app.app_context():
        outcome = org_import.import_workbook(admin_user(), path, batch=2, reader_process_bytes=0)
        assert {(p.sheet, p.row, p.column) for p in outcome.problems} == EXPECTED_BAD
        assert {k: outcome.counts[k]["created"] for k in outcome.counts} == {
            "regions": 2, "units": 1, "enterprises": 2, "people": 2}


def test_a_changed_row_updates_its_record_through_the_service(app):
    with app.app_context():
        rows = [["统一社会信用代码", "企业名称", "行业代码", "所在区域代码", "地址"],
                [cc(21), "变更测试厂", "C26", "D01-T01-G01", "旧地址"]]
        org_import.import_workbook(admin_user(), io.BytesIO(book({"企业": rows})))
        rows[1][4] = "新地址"
        rows[1][3] = "D01-T02-G01"  # moves to the other township: supervised by its station from now on
        outcome = org_import.import_workbook(admin_user(), io.BytesIO(book({"企业": rows})))
        assert outcome.counts["enterprises"]["updated"] == 1
        enterprise = db.session.scalar(select(Organisation).where(Organisation.credit_code == cc(21)))
        assert enterprise.address == "新地址"
        assert enterprise.supervising_unit_id == db.session.scalar(
            select(Organisation.id).where(Organisation.name == "西山镇安全生产监管站"))
        last = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(2)).all()
        assert last == ["org_import", "enterprise_updated"]


TRIGGERS = {
    "sqlite": ["""CREATE TRIGGER hl_test_boom BEFORE INSERT ON organisation WHEN NEW.name = 'BOOM'
                  BEGIN SELECT RAISE(ABORT, 'injected failure'); END"""],
    "postgresql": ["""CREATE FUNCTION hl_test_boom() RETURNS trigger LANGUAGE plpgsql AS $$
                      BEGIN IF NEW.name = 'BOOM' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$""",
                   """CREATE TRIGGER hl_test_boom BEFORE INSERT ON organisation FOR EACH ROW
                      EXECUTE FUNCTION hl_test_boom()"""],
}
DROP = {"sqlite": ["DROP TRIGGER IF EXISTS hl_test_boom"],
        "postgresql": ["DROP TRIGGER IF EXISTS hl_test_boom ON organisation", "DROP FUNCTION IF EXISTS hl_test_boom()"]}


def test_a_database_failure_mid_file_leaves_nothing_of_the_file(app, backend):
    """The database refuses the third batch of enterprises (a trigger): the regions, the units, the first
    batches of enterprises and their audit events written before it are all gone."""
    data = book({
        "Regions": [["Code", "Name", "Kind", "Parent code"], ["D01-T07", "失败街道", "street", "D01"]],
        "Units": [["Name", "Parent unit", "Jurisdiction"], ["失败站", "示范区应急管理局", "D01-T07"]],
        "Enterprises": [["Credit code", "Name", "Industry", "Region code"],
                        [cc(31), "一号", "C26", "D01-T07"], [cc(32), "二号", "C26", "D01-T07"],
                        [cc(33), "BOOM", "C26", "D01-T07"], [cc(34), "四号", "C26", "D01-T07"]],
        "People": [["User name", "Name", "Role", "Organisation"], ["never_here", "不应存在", "officer", cc(31)]],
    })
    with app.app_context():
        with db.engine.begin() as conn:
            for sql in TRIGGERS[backend]:
                conn.execute(text(sql))
        try:
            before = (count(Region), count(Organisation), count(User), count(Jurisdiction), count(AuditEvent))
            with pytest.raises(org_import.ImportFailed) as failed:
                org_import.import_workbook(admin_user(), io.BytesIO(data), batch=1)
            assert "Enterprises" in failed.value.message and "injected failure" in failed.value.message
            assert (count(Region), count(Organisation), count(User), count(Jurisdiction),
                    count(AuditEvent)) == before
            assert db.session.scalar(select(Region).where(Region.code == "D01-T07")) is None
        finally:
            db.session.rollback()  # the counts' read transaction would hold the table the DROP needs
            with db.engine.begin() as conn:
                for sql in DROP[backend]:
                    conn.execute(text(sql))


def test_the_downloaded_template_filled_in_imports_and_its_examples_do_not(app, client):
    pages = Pages(client)
    pages.login("admin")
    resp = pages.get("/admin/import/template.xlsx?lang=en")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["Instructions", "Regions", "Units", "Enterprises", "People", "Industries"]
    assert [c.value for c in wb["Enterprises"][1]][:4] == ["Credit code", "Name", "Industry", "Region code"]
    assert "GB 32100" in " ".join(str(c.value) for row in wb["Instructions"].iter_rows() for c in row if c.value)
    zh = load_workbook(io.BytesIO(pages.get("/admin/import/template.xlsx?lang=zh").data))
    assert zh.sheetnames[:5] == ["填写说明", "区域", "监管单位", "企业", "人员"]
    assert zh["企业"]["A1"].value == "统一社会信用代码"
    # As downloaded, the template imports nothing: its rows are examples.
    with app.app_context():
        untouched = org_import.import_workbook(admin_user(), io.BytesIO(resp.data))
        assert untouched.changed == 0 and untouched.bad_rows == 0
        assert untouched.counts["enterprises"]["examples"] == 2
    wb["Regions"].append(["D01-T05", "北湖街道", "street", "D01"])
    wb["Units"].append(["北湖街道监管站", "示范区应急管理局", "D01-T05"])
    wb["Enterprises"].append([cc(41), "北湖一厂", "C26", "D01-T05", "micro", "北湖路1号", "赵一", "赵一",
                              "13900000000"])
    wb["People"].append(["beihu_principal", "赵一", "principal", cc(41), None, "13900000000", "no", "zh"])
    filled = io.BytesIO()
    wb.save(filled)
    with app.app_context():
        outcome = org_import.import_workbook(admin_user(), io.BytesIO(filled.getvalue()))
        assert outcome.bad_rows == 0, outcome.problems
        assert {k: c["created"] for k, c in outcome.counts.items()} == {
            "regions": 1, "units": 1, "enterprises": 1, "people": 1}
        assert admin_user("beihu_principal").role == Role.principal


def test_cli_imports_with_a_progress_bar_and_dry_run_imports_nothing(app, runner, tmp_path, other_district):
    path = tmp_path / "onboarding.xlsx"
    path.write_bytes(good_and_bad())
    dry = runner.invoke(args=["org", "import", str(path), "--dry-run", "--as", "admin"])
    assert dry.exit_code == 1, dry.output
    assert "企业 row 4, 统一社会信用代码:" in dry.output and "Dry run: nothing was imported." in dry.output
    with app.app_context():
        assert db.session.scalar(select(Organisation).where(Organisation.credit_code == cc(11))) is None
    done = runner.invoke(args=["org", "import", str(path), "--as", "admin"])
    assert done.exit_code == 1 and "enterprises: 2 created" in done.output
    assert "Importing onboarding.xlsx" in done.stderr
    with app.app_context():
        assert db.session.scalar(select(Organisation).where(Organisation.credit_code == cc(11))) is not None
    good = tmp_path / "good.xlsx"
    good.write_bytes(book({"企业": [["统一社会信用代码", "企业名称", "行业代码", "所在区域代码"],
                                   [cc(51), "系统导入厂", "C26", "D02-T01"]]}))
    # Without --as: a system administrator, who may import anywhere (D02 too).
    system = runner.invoke(args=["org", "import", str(good)])
    assert system.exit_code == 0, system.output
    assert "enterprises: 1 created" in system.output
    assert runner.invoke(args=["org", "import", str(good), "--as", "officer_a"]).exit_code == 1


def wait_for(pages, job_url: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        status = pages.get(f"{job_url}/status").get_json()
        if status["finished"] or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_upload_page_runs_a_job_whose_page_shows_progress_and_bad_rows(app, client, other_district):
    pages = Pages(client)
    pages.login("admin")
    page = pages.get("/admin/import")
    assert page.status_code == 200 and 'id="import-form"' in page.get_data(as_text=True)
    assert 'href="/admin/import"' in pages.get("/admin/enterprises").get_data(as_text=True)
    assert 'href="/admin/import"' in pages.get("/admin/users").get_data(as_text=True)
    refused = pages.post("/admin/import", {"file": (io.BytesIO(b"not excel"), "notes.txt")},
                         content_type="multipart/form-data")
    assert refused.status_code == 422 and "xlsx" in refused.get_data(as_text=True)
    resp = pages.post("/admin/import", {"file": (io.BytesIO(good_and_bad()), "onboarding.xlsx")},
                      content_type="multipart/form-data")
    assert resp.status_code == 303
    job_url = resp.location
    status = wait_for(pages, job_url)
    assert status["status"] == "done" and status["percent"] == 100 and status["bad_rows"] == len(EXPECTED_BAD)
    html = pages.get(job_url).get_data(as_text=True)
    assert 'id="import-problems"' in html and "所在区域代码" in html and "import-progress-bar" in html
    with app.app_context():
        job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
        assert job.status.value == "done" and job.processed_rows == job.total_rows
        assert db.session.scalar(select(Organisation).where(Organisation.credit_code == cc(12))) is not None
    # A damaged workbook: the job fails with a reason, nothing imported.
    broken = pages.post("/admin/import", {"file": (io.BytesIO(b"PK\x03\x04 broken"), "broken.xlsx")},
                        content_type="multipart/form-data")
    failed = wait_for(pages, broken.location)
    assert failed["status"] == "failed" and "xlsx" in failed["message"]
    # Only administrators; a job is its importer's.
    officer = Pages(app.test_client())
    officer.login("officer_a")
    assert officer.get("/admin/import").status_code == 403
    assert officer.get(f"{job_url}/status").status_code == 403
    with app.app_context():
        bureau = db.session.scalar(select(Organisation.id).where(Organisation.name == "示范区应急管理局"))
        other = User(username="admin2", display_name="另一管理员", role=Role.admin, organisation_id=bureau,
                     password_hash=admin_user().password_hash, created_at=admin_user().created_at)
        db.session.add(other)
        db.session.commit()
    second = Pages(app.test_client())
    second.login("admin2")
    assert second.get(job_url).status_code == 404
    assert second.get("/admin/import/2147483647").status_code == 404


def test_a_job_whose_process_died_shows_as_interrupted_without_a_write(app, client):
    from datetime import timedelta

    from app.clock import clock
    from app.models import ImportStatus

    with app.app_context():
        job = ImportJob(created_by=admin_user().id, created_at=clock.now(), status=ImportStatus.running,
                        filename="old.xlsx", path="/nonexistent.xlsx", total_rows=100, processed_rows=40,
                        started_at=clock.now() - timedelta(hours=1), heartbeat_at=clock.now() - timedelta(hours=1))
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    pages = Pages(client)
    pages.login("admin")
    with app.app_context(), Writes() as writes:
        status = pages.get(f"/admin/import/{job_id}/status").get_json()
    assert status["status"] == "interrupted" and status["finished"] and status["message"]
    assert [s for s in writes.statements if "import_job" in s] == []
    html = pages.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert 'id="import-message"' in html and "data-status-url" not in html
