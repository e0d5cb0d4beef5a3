"""The rows of a workbook's sheets, read by a process of their own for large files.

Parsing a sheet's XML (openpyxl, read_only) costs about as much CPU as checking and writing its rows; on a
machine with more than one core the import reads the next rows in a child process while it checks and writes
the current ones. The child sends chunks of plain row tuples through a bounded queue (bounded memory: at most
QUEUE chunks wait), sheet after sheet in the order asked for. Nothing here touches the database.
"""
from __future__ import annotations

import multiprocessing
import queue as queues
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHUNK = 2000
QUEUE = 6
_END = "end"
_ERROR = "error"


def _produce(path: str, titles: list[str], out) -> None:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            for title in titles:
                chunk: list[tuple[Any, ...]] = []
                for row in book[title].iter_rows(values_only=True):
                    chunk.append(row)
                    if len(chunk) >= CHUNK:
                        out.put((title, chunk))
                        chunk = []
                out.put((title, chunk))
                out.put((title, _END))
        finally:
            book.close()
    except Exception as exc:  # noqa: BLE001 — the parent reports it as the file's problem
        out.put(("", (_ERROR, str(exc)[:300])))


class SheetReader:
    """`rows(title)` of each sheet in `titles`, in that order, from a child process."""

    def __init__(self, path: Path, titles: list[str]) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded web process
        self.queue = context.Queue(QUEUE)
        self.process = context.Process(target=_produce, args=(str(path), titles, self.queue), daemon=True,
                                       name="xlsx-reader")
        self.process.start()
        self.pending: tuple[str, Any] | None = None

    def _next(self) -> tuple[str, Any]:
        if self.pending is not None:
            item, self.pending = self.pending, None
            return item
        while True:
            try:
                item = self.queue.get(timeout=5)
            except queues.Empty:
                if not self.process.is_alive():
                    raise OSError("the workbook reader stopped") from None
                continue
            if isinstance(item[1], tuple) and item[1][0] == _ERROR:
                raise OSError(item[1][1])
            return item

    def rows(self, title: str) -> Iterator[tuple[Any, ...]]:
        while True:
            sheet, chunk = self._next()
            if sheet != title:  # what is left of a sheet the caller stopped reading
                continue
            if chunk == _END:
                return
            yield from chunk

    def close(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        self.queue.close()
