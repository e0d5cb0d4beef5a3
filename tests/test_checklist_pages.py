"""Checklists as the people who keep them use them (issue 13's defects): a clean new-checklist page, checklists that
can be opened, changed and retired, schedules in words, field-named crontab errors in the user's language, photos on
a failed item, hazards titled by the finding, a demo whose check is open at once."""
from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Checklist, CheckStatus, CheckTask, Hazard
from app.services import checklists
from app.services.demo import tiny_pdf, tiny_png
from tests.deadline_steps import Person, move_to, tick
from tests.test_checklists import DAILY, next_eight_am, open_checks, user


def test_the_new_checklist_page_starts_clean_and_a_refusal_names_only_what_is_wrong(client):
    principal = Person(client, "principal_a")
    page = principal.get("/checklists/new").get_data(as_text=True)
    assert "built-in method" not in page and "is-invalid" not in page
    refused = principal.post("/checklists/new", dict(DAILY, items=""))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "built-in method" not in text
    assert text.count("is-invalid") == 1 and 'id="f-items-error"' in text
    assert 'value="冲压线班组日检"' in text, "what was typed is kept"


def test_a_checklist_is_opened_changed_and_retired_from_the_navigation(app, client):
    principal = Person(client, "principal_a")
    assert 'id="hl-nav-checklists"' in principal.get("/tasks").get_data(as_text=True)
    saved = principal.post("/checklists/new", dict(DAILY))
    assert saved.status_code == 302 and "/checklists/" in saved.headers["Location"]
    checklist_id = int(saved.headers["Location"].rstrip("/").split("/")[-1])
    detail = principal.get(f"/checklists/{checklist_id}").get_data(as_text=True)
    assert "防护罩完好" in detail and "08:00" in detail and "0 8 * * *" not in detail

    # Change it: one item kept, one retired, one added; a weekly schedule.
    form = principal.get(f"/checklists/{checklist_id}/edit").get_data(as_text=True)
    assert "防护罩完好\n急停按钮有效\n消防通道畅通" in form
    changed = principal.post(f"/checklists/{checklist_id}/edit", dict(
        DAILY, level="workshop", items="防护罩完好\n消防通道畅通\n灭火器在有效期内"))
    assert changed.status_code == 302
    with app.app_context():
        checklist = db.session.get(Checklist, checklist_id)
        assert [i.text for i in checklist.items] == ["防护罩完好", "消防通道畅通", "灭火器在有效期内"]
        assert checklist.schedule == checklists.LEVEL_SCHEDULES["workshop"]
        assert checklist.next_due_at.astimezone(checklists.CHINA).weekday() == 0
        db.session.remove()
    shown = principal.get(f"/checklists/{checklist_id}").get_data(as_text=True)
    assert "灭火器在有效期内" in shown and "急停按钮有效" not in shown and "星期一" in shown

    # Retired: no more checks are opened; put back into use, they are again.
    assert principal.post(f"/checklists/{checklist_id}/active", {"active": "0"}).status_code == 302
    assert 'id="checklist-retired"' in principal.get(f"/checklists/{checklist_id}").get_data(as_text=True)
    move_to(next_eight_am() + timedelta(days=8))
    assert tick(app).get("checks_opened", 0) == 0
    assert principal.post(f"/checklists/{checklist_id}/active", {"active": "1"}).status_code == 302
    move_to(next_eight_am() + timedelta(days=8))
    assert tick(app)["checks_opened"] == 1

    # Another enterprise neither sees nor changes it; an inspector sees it but cannot change it.
    client.post("/logout", data={"csrf_token": principal.token})
    other = Person(client, "principal_b")
    assert other.get(f"/checklists/{checklist_id}").status_code == 404
    assert other.post(f"/checklists/{checklist_id}/edit", dict(DAILY)).status_code == 404
    client.post("/logout", data={"csrf_token": other.token})
    inspector = Person(client, "inspector")
    assert inspector.get(f"/checklists/{checklist_id}").status_code == 200
    assert inspector.post(f"/checklists/{checklist_id}/active", {"active": "0"}).status_code == 403


def test_schedules_read_as_words_in_each_language(app):
    with app.app_context():
        assert checklists.describe_schedule("0 8 * * mon", "zh") == "在 08:00, 仅在 星期一"
        assert checklists.describe_schedule("0 8 * * mon", "en") == "At 08:00, only on Monday"
        assert "一月" in checklists.describe_schedule("0 9 1 jan *", "zh")
        assert checklists.describe_schedule("not a rule", "zh") == "not a rule"


def test_a_crontab_mistake_is_named_by_its_field_in_the_users_language(app, client):
    principal = Person(client, "principal_a")
    page = principal.post("/checklists/new", dict(DAILY, level="custom", schedule="0 25 * * *"))
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "小时" in text and "0–23" in text and "Wrong number" not in text
    few = principal.post("/checklists/new", dict(DAILY, level="custom", schedule="0 8 *")).get_data(as_text=True)
    assert "需要五个" in few
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "day of week" in checklists.schedule_problem("0 8 * * someday")
        assert "never fires" in checklists.schedule_problem("0 8 30 2 *")


def test_a_failed_item_carries_its_photos_and_the_hazard_is_titled_by_the_finding(app, client):
    checklist_id = None
    with app.test_request_context():
        checklist_id = checklists.create_checklist(user("principal_a"), dict(DAILY, start_now=True)).id
        db.session.remove()
    tick(app)
    [check] = open_checks(app, "officer_a")
    officer = Person(client, "officer_a")
    page = officer.get(f"/checks/{check.id}").get_data(as_text=True)
    item_ids = [int(x.split('"')[0]) for x in page.split('data-item="')[1:]]
    assert f'name="photo_files_{item_ids[0]}"' in page
    answers = {f"item_{i}": "pass" for i in item_ids}
    answers.update({f"item_{item_ids[0]}": "fail", f"note_{item_ids[0]}": "冲床防护罩缺失\n左侧螺栓松动"})
    # A PDF is not a photo: refused on that item, the answers kept.
    refused = officer.post(f"/checks/{check.id}", dict(
        answers, **{f"photo_files_{item_ids[0]}": (io.BytesIO(tiny_pdf()), "report.pdf")}),
        content_type="multipart/form-data")
    assert refused.status_code == 422 and f'id="photos_{item_ids[0]}-error"' in refused.get_data(as_text=True)
    done = officer.post(f"/checks/{check.id}", dict(
        answers, **{f"photo_files_{item_ids[0]}": (io.BytesIO(tiny_png()), "guard.png")}),
        content_type="multipart/form-data")
    assert done.status_code == 302, done.get_data(as_text=True)[:3000]
    with app.app_context():
        [hazard] = db.session.scalars(select(Hazard)).all()
        assert hazard.title == "冲床防护罩缺失"
        assert "防护罩完好" in hazard.description
        photos = db.session.scalars(select(Attachment).where(Attachment.hazard_id == hazard.id)).all()
        assert [p.original_name for p in photos] == ["guard.png"]
        assert db.session.get(CheckTask, check.id).status == CheckStatus.completed
        db.session.remove()
    assert checklist_id


def test_the_demo_shows_an_open_check_at_once(tmp_path):
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path)
    with app.app_context():
        from app.services.demo import seed

        seed()
        opened = db.session.scalars(select(CheckTask).where(CheckTask.status == CheckStatus.open)).all()
        assert len(opened) == 1 and opened[0].due_at > opened[0].scheduled_for
        db.session.remove()
        db.engine.dispose()


def test_a_long_paste_comes_back_with_the_field_named_and_the_text_kept(client):
    officer = Person(client, "officer_a")
    page = officer.get("/hazards/new").get_data(as_text=True)
    assert 'maxlength="' in page
    pasted = "很长的描述" * 200_000  # ~3 MB of UTF-8: beyond Werkzeug's default 500 kB for text fields
    answer = officer.post("/hazards/new", {"title": "配电箱未上锁", "description": pasted, "location": "一车间",
                                           "hazard_type": "unsafe_condition", "source": "self_check"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422, text[:500]
    assert 'id="f-description-error"' in text and "配电箱未上锁" in text


def test_date_pickers_offer_only_the_days_the_form_accepts(app):
    from app.chinatime import today, years_after
    from app.services import forms
    from app.web.pages.formview import field_views

    with app.test_request_context():
        officer = user("officer_a")
        fields = {f.name: f for f in field_views(forms.get_form("assess"), officer)}
        deadline = fields["rectification_deadline"]
        assert deadline.min_date == today().isoformat()
        assert deadline.max_date == years_after(today(), 5).isoformat()
        done = {f.name: f for f in field_views(forms.get_form("rectify"), officer)}["completed_on"]
        assert done.max_date == today().isoformat() and done.min_date is None
        db.session.remove()


def test_the_readme_says_how_to_use_another_port():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=8080" in readme
