"""Where uploaded files live: a local folder or an S3-compatible object store, behind one small interface.

`STORAGE_URL` chooses: unset (or `file:///path`) keeps files in a folder (UPLOAD_DIR by default — what `make run`
uses); `s3://bucket/prefix` keeps them in any S3-compatible store through boto3, which reads the endpoint and the
credentials from the standard variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION). Several web nodes need the object store: each one then sees every file.

Keys are relative names such as `ab/ab12…-9f3e`; nothing outside this module knows about paths or buckets.
Downloads are streamed through the application (which has checked who may see the file), never handed out as
links to the store.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import unquote, urlparse

from flask import current_app

CHUNK = 64 * 1024


class MissingFile(LookupError):
    """The store has no file under this key."""


class Storage(Protocol):
    url: str

    def put(self, key: str, stream: IO[bytes], content_type: str | None = None) -> None: ...
    def open(self, key: str) -> IO[bytes]: ...
    def size(self, key: str) -> int | None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]: ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in {"", ".", ".."} for p in parts) or "\\" in key or "\0" in key:
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class LocalStorage:
    """Files in a folder; a file appears whole or not at all (written aside, then renamed)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.url = self.root.resolve().as_uri()

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, stream: IO[bytes], content_type: str | None = None) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise MissingFile(key) from None

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".upload-") and key.startswith(prefix):
                yield key, path.stat().st_size


class S3Storage:
    """Objects in an S3-compatible store under `prefix/` of `bucket`."""

    def __init__(self, bucket: str, prefix: str = "", client=None) -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        # boto3 reads AWS_ENDPOINT_URL, the credentials and the region from the environment.
        self.client = client or boto3.client("s3", config=BotoConfig(
            retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
            s3={"addressing_style": "path"}))

    def _name(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, stream: IO[bytes], content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.upload_fileobj(stream, self.bucket, self._name(key), ExtraArgs=extra)

    def open(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise MissingFile(key) from None
            raise

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start + prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(start):], item["Size"]


def from_url(url: str | None, default_dir: Path | str) -> Storage:
    """The store a STORAGE_URL names (the folder `default_dir` when there is none)."""
    if not url:
        return LocalStorage(default_dir)
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStorage(unquote(parsed.path))
    if parsed.scheme == "s3" and parsed.netloc:
        return S3Storage(parsed.netloc, parsed.path)
    raise ValueError(f"STORAGE_URL must be file:///path or s3://bucket/prefix, not {url!r}")


def storage() -> Storage:
    """The current application's store (made once per application)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("hazardloop_storage")
    if store is None:
        store = app.extensions["hazardloop_storage"] = from_url(app.config.get("STORAGE_URL"), app.config["UPLOAD_DIR"])
    return store


def check_writable(store: Storage) -> None:
    """Write, read back and delete a small probe object; raises when the store cannot take a file."""
    import io

    key = f"_health/{uuid.uuid4().hex}"
    store.put(key, io.BytesIO(b"ok"), "text/plain")
    try:
        with store.open(key) as body:
            if body.read() != b"ok":
                raise OSError("the store returned other bytes than were written")
    finally:
        store.delete(key)


def copy_missing(source: Storage, target: Storage, progress=None) -> tuple[int, int]:
    """Copy every file of `source` that `target` lacks (or holds at another size) — resumable and idempotent: run it
    again after an interruption and it carries on. Returns (copied, skipped); `progress(1)` after each file."""
    copied = skipped = 0
    for key, size in source.list():
        if key.startswith("_health/"):
            continue
        if target.size(key) == size:
            skipped += 1
        else:
            with source.open(key) as body:
                target.put(key, body)
            copied += 1
        if progress is not None:
            progress(1)
    return copied, skipped
