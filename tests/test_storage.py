"""The file store (app/storage.py): a local folder or an S3-compatible object store — here a real one, moto's
standalone server started by the `s3_server` fixture — and `flask storage migrate` from one to the other.

The attachment, evidence and page-submission tests of other modules run here a second time with the object store
(they are imported below; this module's `app` fixture gives them an application whose STORAGE_URL is s3://...).
"""
from __future__ import annotations

import io

import pytest

from app.services.demo import tiny_png
from app.storage import LocalStorage, MissingFile, S3Storage, check_writable, from_url, storage
from tests.conftest import seeded_app
from tests.helpers import report, stored_keys, upload
from tests.test_api_lifecycle import (  # noqa: F401  (run again on the object store)
    test_general_hazard_goes_from_report_to_closed_with_a_failed_review_in_between,
)
from tests.test_evidence import (  # noqa: F401
    test_a_rejected_verification_files_the_first_photos_as_a_rejected_attempt_and_shows_the_ten_day_limit,
)
from tests.test_odd_input import test_a_missing_file_behind_an_attachment_row_is_not_found  # noqa: F401
from tests.test_page_submissions import (  # noqa: F401
    test_a_completion_the_process_refuses_keeps_what_was_typed_and_leaves_no_file_or_row,
    test_the_report_page_keeps_an_accepted_photo_when_another_file_is_refused,
)
from tests.test_pages import pages, test_files_and_the_diagram_are_only_served_to_those_who_may_see_the_hazard  # noqa: F401
from tests.test_security import (  # noqa: F401
    test_an_image_with_too_many_pixels_is_refused_and_leaves_no_file,
    test_uploads_no_form_used_are_removed_after_a_while,
    test_users_files_are_sandboxed_and_downloaded_unless_a_photo_shown_inline,
)


@pytest.fixture
def app(pg_url, tmp_path, s3_bucket):
    """The application on PostgreSQL with its files in a bucket of the S3 server (not in UPLOAD_DIR)."""
    with seeded_app(pg_url, tmp_path, STORAGE_URL=f"s3://{s3_bucket}/uploads") as application:
        yield application


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path):
    if request.param == "folder":
        return LocalStorage(tmp_path / "files")
    bucket = request.getfixturevalue("s3_bucket")
    return from_url(f"s3://{bucket}/some/prefix", tmp_path)


def test_the_store_puts_reads_lists_and_deletes(store):
    assert not store.exists("ab/one") and store.size("ab/one") is None
    store.put("ab/one", io.BytesIO(b"first"), "text/plain")
    store.put("cd/two", io.BytesIO(b"second!"))
    store.put("ab/one", io.BytesIO(b"FIRST"))  # replaced whole
    with store.open("ab/one") as body:
        assert body.read() == b"FIRST"
    assert store.exists("cd/two") and store.size("cd/two") == 7
    assert sorted(store.list()) == [("ab/one", 5), ("cd/two", 7)]
    assert list(store.list("cd/")) == [("cd/two", 7)]
    store.delete("ab/one")
    store.delete("ab/one")  # deleting twice is fine
    assert not store.exists("ab/one")
    with pytest.raises(MissingFile):
        store.open("ab/one")
    check_writable(store)
    assert list(store.list()) == [("cd/two", 7)], "the probe leaves nothing behind"


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "", "a\\b"])
def test_keys_cannot_leave_the_store(store, key):
    with pytest.raises(ValueError):
        store.put(key, io.BytesIO(b"x"))


def test_storage_url_chooses_the_store(tmp_path):
    assert isinstance(from_url(None, tmp_path), LocalStorage)
    assert from_url(f"file://{tmp_path}/x", tmp_path).root == tmp_path / "x"
    assert isinstance(from_url("s3://bucket/prefix", tmp_path), S3Storage)
    with pytest.raises(ValueError, match="STORAGE_URL"):
        from_url("ftp://somewhere", tmp_path)


def test_an_upload_goes_to_the_bucket_and_comes_back_through_the_app_only_to_those_who_may_see_it(api, app, tmp_path):
    officer = api.as_("officer_a")
    png = tiny_png((9, 8, 7))
    photo = upload(officer, png)
    report(officer, photos=[photo])
    keys = stored_keys(app)
    assert len(keys) == 1
    assert not (tmp_path / "uploads").exists(), "nothing was written to the local folder"
    with app.app_context():
        assert storage().url.startswith("s3://") and storage().exists(keys.pop())
    resp = officer.get(f"/attachments/{photo}")
    assert resp.status_code == 200 and resp.data == png and resp.mimetype == "image/png"
    assert resp.headers["Content-Length"] == str(len(png))
    again = officer.get(f"/attachments/{photo}", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304
    part = officer.get(f"/attachments/{photo}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == png[10:20], "a download resumes where it stopped"
    assert api.as_("officer_b").get(f"/attachments/{photo}").status_code == 404


def test_storage_migrate_copies_the_folder_to_the_bucket_resumably(app, tmp_path):
    folder = LocalStorage(tmp_path / "uploads")
    for i in range(5):
        folder.put(f"{i:02x}/file-{i}", io.BytesIO(b"x" * (100 + i)))
    runner = app.test_cli_runner()
    with app.app_context():
        bucket = storage()
        bucket.put("02/file-2", io.BytesIO(b"x" * 102))  # copied by an earlier, interrupted run
        bucket.put("03/file-3", io.BytesIO(b"half"))  # cut short: another size, copied again
    result = runner.invoke(args=["storage", "migrate"])
    assert result.exit_code == 0, result.output
    assert "4 files copied, 1 already there." in result.output
    with app.app_context():
        assert sorted(bucket.list()) == sorted(folder.list())
        with bucket.open("03/file-3") as body:
            assert body.read() == b"x" * 103
    result = runner.invoke(args=["storage", "migrate"])
    assert "0 files copied, 5 already there." in result.output


def test_storage_migrate_refuses_to_copy_a_store_onto_itself(app, tmp_path):
    app.config["STORAGE_URL"] = None
    app.extensions.pop("hazardloop_storage", None)
    result = app.test_cli_runner().invoke(args=["storage", "migrate"])
    assert result.exit_code != 0 and "source itself" in result.output
