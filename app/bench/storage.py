"""The cost of an upload and a download through the application: the local folder against an S3-compatible object
store (`python -m app.bench storage`; part of `make bench`).

The same photo (about 300 kB) is uploaded and downloaded ROUNDS times through the API, in-process (Flask's test
client, one SQLite database in a temporary folder, so the only difference between the runs is the file store).
The object store is the one AWS_ENDPOINT_URL names, or else moto's standalone server (dev extra) started here:
a loopback S3, so the figures are the client library's and the protocol's cost, not a network's.
"""
from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from app.bench.server import free_port

ROUNDS = 100


def _photo() -> bytes:
    from PIL import Image

    rng = random.Random(7)
    image = Image.frombytes("RGB", (400, 250), bytes(rng.getrandbits(8) for _ in range(400 * 250 * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@contextmanager
def moto_server():
    """moto's standalone S3 server (PyPI moto[server], a dev dependency) on a free loopback port; yields the
    environment boto3 reads to reach it. The tests' `s3_server` fixture uses it too."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def _object_store():
    """The environment of an S3 endpoint: the caller's (AWS_ENDPOINT_URL), or a moto server of our own."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield {}
        return
    with moto_server() as env:
        yield env


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _measure(storage_url: str | None, workdir: Path, photo: bytes, rounds: int) -> dict[str, float]:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services.demo import seed_world
    from config import TestConfig

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir / 'bench.db'}", INSTANCE_DIR=workdir,
                     UPLOAD_DIR=workdir / "uploads", STORAGE_URL=storage_url, UPLOAD_QUOTA_MB=10_000)
    with app.app_context():
        upgrade()
        seed_world()
        db.session.remove()
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "officer_a", "password": "hazardloop"}).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    uploads, downloads = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        resp = client.post("/api/v1/attachments", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(photo), "photo.png")})
        uploads.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 201, resp.get_json()
        started = time.perf_counter()
        got = client.get(f"/api/v1/attachments/{resp.get_json()['id']}", headers=headers)
        body = got.get_data()
        downloads.append((time.perf_counter() - started) * 1000)
        assert got.status_code == 200 and body == photo
    with app.app_context():
        db.engine.dispose()
    return {"upload_p50_ms": round(statistics.median(uploads), 2), "upload_p95_ms": round(_percentile(uploads, .95), 2),
            "download_p50_ms": round(statistics.median(downloads), 2),
            "download_p95_ms": round(_percentile(downloads, .95), 2)}


def run(out: Path, rounds: int = ROUNDS) -> dict:
    import boto3

    photo = _photo()
    results: dict = {"photo_bytes": len(photo), "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="hazardloop-bench-storage-") as tmp:
        folder = Path(tmp) / "folder"
        folder.mkdir()
        results["folder"] = _measure(None, folder, photo, rounds)
        with _object_store() as env:
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                bucket = f"hazardloop-bench-{uuid.uuid4().hex[:8]}"
                boto3.client("s3").create_bucket(Bucket=bucket)
                s3 = Path(tmp) / "s3"
                s3.mkdir()
                results["object_store"] = _measure(f"s3://{bucket}/uploads", s3, photo, rounds)
                results["object_store"]["endpoint"] = os.environ["AWS_ENDPOINT_URL"]
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
    out.mkdir(parents=True, exist_ok=True)
    (out / "storage.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    f, s = results["folder"], results["object_store"]
    lines = [f"# File store: upload and download of a {len(photo) // 1024} kB photo through the API ({rounds} each)",
             "", "| store | upload p50 / p95 | download p50 / p95 |", "|---|---:|---:|",
             (f"| local folder | {f['upload_p50_ms']} / {f['upload_p95_ms']} ms | "
             f"{f['download_p50_ms']} / {f['download_p95_ms']} ms |"),
             (f"| S3 ({s['endpoint']}) | {s['upload_p50_ms']} / {s['upload_p95_ms']} ms | "
             f"{s['download_p50_ms']} / {s['download_p95_ms']} ms |"), ""]
    (out / "storage.md").write_text("\n".join(lines), encoding="utf-8")
    return results
