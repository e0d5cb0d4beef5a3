"""Register and worklist text search: Chinese words of two characters, numbers, LIKE metacharacters.

On PostgreSQL the search goes through the bigram index of migration 0006; the test checks both the
results and that the query's expression is the indexed one (the planner can use the index).
"""
from __future__ import annotations

from sqlalchemy import select, text

from app.extensions import db
from app.models import Hazard, Role, User
from app.services import search
from tests.helpers import report


def _titles(api, q: str) -> set[str]:
    resp = api.get("/hazards", query_string={"q": q, "per_page": 100})
    assert resp.status_code == 200, resp.get_json()
    return {h["title"] for h in resp.get_json()["items"]}


def test_search_finds_two_character_words_numbers_and_nothing_else(api, app, backend):
    officer = api.as_("officer_a")
    a = report(officer, title="配电箱未上锁", location="一车间东侧")
    report(officer, title="消防通道堵塞", location="仓库 B 区")
    report(officer, title="安全帽破损 100%", location="二车间")
    assert _titles(officer, "配电") >= {"配电箱未上锁"}
    assert "消防通道堵塞" not in _titles(officer, "配电")
    assert _titles(officer, "东侧") >= {"配电箱未上锁"}                  # the location
    assert _titles(officer, a["number"].lower()) == {"配电箱未上锁"}       # the number, any case
    assert _titles(officer, "b 区") >= {"消防通道堵塞"}                    # latin letters, any case
    assert _titles(officer, "堵") >= {"消防通道堵塞"}                      # one character
    assert _titles(officer, "100%") == {"安全帽破损 100%"}                 # % is a character, not a wildcard
    assert _titles(officer, "0%") == {"安全帽破损 100%"}
    assert _titles(officer, "锁消") == set()                              # no match across hazards
    assert _titles(api.as_("officer_b"), "配电") == set()                 # scope still applies


def test_the_search_expression_is_the_indexed_one(api, app, backend):
    if backend != "postgresql":
        return
    report(api.as_("officer_a"), title="配电箱未上锁")
    with app.app_context():
        for role in (Role.admin, Role.inspector, Role.officer):
            user = db.session.query(User).filter(User.role == role).first()
            stmt = select(Hazard).where(search.text_match("配电", Hazard.title, scope=search.search_keys(user)))
            sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(db.session.execute(text("EXPLAIN " + sql)).scalars())
            db.session.rollback()
            assert "ix_hazard_search_keys" in plan, plan
            if role != Role.admin:  # the jurisdiction is applied inside the index too
                assert "&&" in plan, plan


def test_search_pages_and_counts_under_and_over_the_cap(api, app, backend):
    officer = api.as_("officer_a")
    made = [report(officer, title=f"叉车超速 {i}")["number"] for i in range(5)]

    def page(n: int, per_page: int = 2) -> dict:
        resp = officer.get("/hazards", query_string={"q": "叉车", "page": n, "per_page": per_page, "sort": "-created"})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    first, second, last = page(1), page(2), page(3)
    assert [h["number"] for h in first["items"] + second["items"] + last["items"]] == made  # oldest first
    assert first["total"] == 5 and not first["total_capped"] and first["has_next"] and not last["has_next"]
    app.config["LIST_COUNT_CAP"] = 3
    capped = page(1)
    assert capped["total"] == 3 and capped["total_capped"] and capped["has_next"]
    assert [h["number"] for h in capped["items"]] == made[:2]  # the order is still the whole result's
    assert [h["number"] for h in page(3)["items"]] == made[4:]
