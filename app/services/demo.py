"""Demo data: a district, two townships, three enterprises, users and hazards at several stages.

Every demo account has the password `hazardloop`. Demo passwords exist only here.
"""
from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta

from sqlalchemy import select

from app.clock import clock
from app.extensions import db
from app.models import EnterpriseScale, Jurisdiction, Organisation, OrgKind, Region, RegionKind, Role, User
from app.services import attachments, checklists, hazards, shipped, tasks
from app.services.auth import hash_password
from app.services.policy import resolve_supervising_unit

DEMO_PASSWORD = "hazardloop"


def tiny_png(rgb: tuple[int, int, int] = (200, 60, 40), size: int = 8) -> bytes:
    """A real (small, solid-colour) PNG, so demo photos pass the type check from the bytes."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def tiny_pdf(text: str = "Acceptance report") -> bytes:
    body = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for i, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _region(code: str, name: str, kind: RegionKind, parent: Region | None = None) -> Region:
    region = Region(code=code, name=name, kind=kind, parent_id=parent.id if parent else None)
    db.session.add(region)
    db.session.flush()
    return region


def _unit(name: str, region: Region, parent: Organisation | None = None) -> Organisation:
    unit = Organisation(kind=OrgKind.government, name=name, parent_id=parent.id if parent else None)
    db.session.add(unit)
    db.session.flush()
    db.session.add(Jurisdiction(unit_id=unit.id, region_id=region.id))
    db.session.flush()
    return unit


def _enterprise(name: str, region: Region, industry: str, address: str, code: str, scale: EnterpriseScale,
                legal_representative: str) -> Organisation:
    org = Organisation(kind=OrgKind.enterprise, name=name, region_id=region.id, industry=industry, address=address,
                       credit_code=code, scale=scale, legal_representative=legal_representative,
                       principal_name=legal_representative, contact_phone="010-12345678",
                       supervising_unit_id=resolve_supervising_unit(region.id))
    db.session.add(org)
    db.session.flush()
    return org


def _user(username: str, name: str, role: Role, org: Organisation | None, email: str | None = None) -> User:
    user = User(username=username, display_name=name, role=role, organisation_id=org.id if org else None,
                email=email or f"{username}@demo.hazardloop.local", password_hash=hash_password(DEMO_PASSWORD),
                created_at=clock.now())
    db.session.add(user)
    db.session.flush()
    return user


def _next_task(user: User, hazard_id: int) -> int:
    task = next(t for t, h in tasks.list_tasks(user).items if h.id == hazard_id)
    return task.id


def seed() -> dict[str, int]:
    """Create the demo world and drive some hazards forward through the real services."""
    seed_world()
    return seed_hazards()


def seed_world() -> None:
    """Regions, government units, enterprises and the demo users (password `hazardloop`)."""
    district = _region("D01", "示范区", RegionKind.district)
    east = _region("D01-T01", "东湖街道", RegionKind.township, district)
    west = _region("D01-T02", "西山镇", RegionKind.township, district)
    grid_e1 = _region("D01-T01-G01", "东湖第一网格", RegionKind.grid, east)
    grid_e2 = _region("D01-T01-G02", "东湖第二网格", RegionKind.grid, east)
    grid_w1 = _region("D01-T02-G01", "西山第一网格", RegionKind.grid, west)

    bureau = _unit("示范区应急管理局", district)
    _unit("东湖街道安全生产监管站", east, bureau)
    west_station = _unit("西山镇安全生产监管站", west, bureau)

    # Industries are GB/T 4754-2017 divisions; the credit codes carry valid check characters (GB 32100-2015).
    ent_a = _enterprise("宏达机械制造有限公司", grid_e1, "C34", "东湖街道工业路18号", "91110000MA0000001L",
                        EnterpriseScale.medium, "李厂长")
    ent_b = _enterprise("绿源化工有限公司", grid_w1, "C26", "西山镇化工园区6号", "91110000MA0000002P",
                        EnterpriseScale.small, "赵总")
    ent_c = _enterprise("明辉商贸物流有限公司", grid_e2, "G59", "东湖街道物流园3号", "91110000MA0000003T",
                        EnterpriseScale.small, "孙经理")

    _user("admin", "系统管理员", Role.admin, bureau)
    _user("officer_a", "张安全（宏达）", Role.officer, ent_a)
    _user("principal_a", "李厂长（宏达）", Role.principal, ent_a)
    _user("officer_b", "王安全（绿源）", Role.officer, ent_b)
    _user("principal_b", "赵总（绿源）", Role.principal, ent_b)
    _user("officer_c", "钱安全（明辉）", Role.officer, ent_c)
    _user("principal_c", "孙经理（明辉）", Role.principal, ent_c)
    _user("inspector", "周检查（区应急局）", Role.inspector, bureau)
    _user("inspector_west", "吴检查（西山镇站）", Role.inspector, west_station)
    # The head of the district bureau (局领导): the last tier of deadline escalation.
    _user("bureau_head", "郑局长（区应急局）", Role.inspector, bureau).bureau_head = True
    db.session.commit()
    shipped.install()


def _users(*names: str) -> list[User]:
    return [db.session.scalar(select(User).where(User.username == n)) for n in names]


def seed_hazards() -> dict[str, int]:
    """A handful of hazards at different stages, each step done by the right person."""
    officer_a, principal_a, officer_b = _users("officer_a", "principal_a", "officer_b")

    def photo(user: User, colour: tuple[int, int, int]) -> int:
        return attachments.store(user, io.BytesIO(tiny_png(colour)), "photo.png").id

    deadline = (clock.now() + timedelta(days=14)).date().isoformat()
    today = clock.now().date().isoformat()
    report = {"description": "巡检发现", "hazard_type": "unsafe_condition", "source": "self_check"}

    h1 = hazards.report_hazard(officer_a, dict(report, title="配电箱门未关闭、无警示标识", location="一车间东侧",
                                               photos=[photo(officer_a, (220, 40, 40))]))
    h2 = hazards.report_hazard(officer_a, dict(report, title="冲床防护罩缺失", location="二车间冲压线"))
    tasks.complete(officer_a, _next_task(officer_a, h2.id), {
        "grade": "general", "responsible_person": "张安全", "measures": "加装防护罩",
        "rectification_deadline": deadline})
    h3 = hazards.report_hazard(officer_a, dict(report, title="消防通道堆放杂物", location="成品仓库"))
    tasks.complete(officer_a, _next_task(officer_a, h3.id), {
        "grade": "general", "responsible_person": "张安全", "measures": "清理通道", "rectification_deadline": deadline})
    tasks.complete(officer_a, _next_task(officer_a, h3.id), {
        "measures_taken": "已清理并划线", "after_photos": [photo(officer_a, (40, 180, 60))], "completed_on": today})
    tasks.complete(principal_a, _next_task(principal_a, h3.id), {"review_result": "pass", "review_opinion": "整改到位"})

    h4 = hazards.report_hazard(officer_a, dict(report, title="喷漆房通风系统失效", location="涂装车间",
                                               hazard_type="unsafe_condition"))
    tasks.complete(officer_a, _next_task(officer_a, h4.id), {
        "grade": "major", "responsible_person": "李厂长", "major_criterion": "工贸重大隐患判定标准 第十条"})
    tasks.complete(officer_a, _next_task(officer_a, h4.id), {
        "measures": "更换防爆风机，增设可燃气体报警", "funds": 180000, "rectification_deadline": deadline,
        "responsible_person": "李厂长", "emergency_plan": "涂装车间停产，设置警戒区，配备灭火器材"})
    tasks.complete(principal_a, _next_task(principal_a, h4.id), {
        "plan_decision": "approve", "report_current_state": "风机损坏，通风不足", "report_harm": "可能引发爆炸，需停产整改",
        "reported_to_workers_congress": True})

    h5 = hazards.report_hazard(officer_b, dict(report, title="储罐区可燃气体报警器失效", location="罐区A"))
    tasks.complete(officer_b, _next_task(officer_b, h5.id), {
        "grade": "general", "responsible_person": "王安全", "measures": "更换报警探头", "rectification_deadline": deadline})

    # 一岗一清单: the stamping line team's daily check; the scheduler opens a check task every morning. A new demo
    # shows today's check at once (open until tomorrow's run).
    checklists.create_checklist(principal_a, {
        "title": "冲压线班组日检", "post": "二车间冲压班组长", "level": "team", "location": "二车间冲压线",
        "role": "officer", "start_now": True,
        "items": "冲床防护罩完好、无缺失\n急停按钮有效\n消防通道畅通、无堆放\n配电箱门关闭、警示标识清晰"})
    checklists.open_due_checks()
    return {"users": len(db.session.scalars(select(User.id)).all()), "hazards": len([h1, h2, h3, h4, h5])}
