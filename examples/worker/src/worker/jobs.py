"""The job queue: one JSON file per job, moved between directories of the ``queue`` writable dir.

``incoming/`` holds queued jobs, ``processing/`` the ones a worker has claimed,
``done/`` and ``failed/`` the results. A worker claims a job by renaming it, which is
atomic, so several workers (``processes.queue.count``) never run the same job.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["OPERATIONS", "STATES", "JobQueue"]

OPERATIONS: dict[str, Callable[[str], Any]] = {
    "upper": str.upper,
    "reverse": lambda text: text[::-1],
    "words": lambda text: len(text.split()),
}
STATES = {"incoming": "queued", "processing": "running", "done": "done", "failed": "failed"}
MAX_TEXT = 10_000
_ID = re.compile(r"[0-9a-f]{1,20}-[0-9a-f]{8}")


class JobQueue:
    """The queue under *root* (the ``queue`` writable dir)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        for name in STATES:
            (self.root / name).mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_environ(cls) -> JobQueue:
        """The queue in the writable dir the host gives (``PYAPP_WRITABLE_QUEUE``)."""
        root = os.environ.get("PYAPP_WRITABLE_QUEUE")
        if not root:
            raise RuntimeError("PYAPP_WRITABLE_QUEUE is not set: run this under a pyapp host")
        return cls(root)

    @staticmethod
    def is_id(text: str) -> bool:
        return _ID.fullmatch(text) is not None

    def enqueue(self, op: str, text: str) -> str:
        """Queue a job and return its id; ``ValueError`` for an unknown operation or too long a text."""
        if op not in OPERATIONS:
            raise ValueError(f"unknown operation {op!r} (operations: {', '.join(OPERATIONS)})")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ValueError(f"the text must be a string of at most {MAX_TEXT} characters")
        # Ids sort in the order jobs were queued: workers take the oldest first.
        job_id = f"{time.time_ns():x}-{secrets.token_hex(4)}"
        self._write(
            self.root / "incoming" / f"{job_id}.json", {"op": op, "text": text, "queued": time.time()}
        )
        return job_id

    def counts(self) -> dict[str, int]:
        return {state: len(list((self.root / name).glob("*.json"))) for name, state in STATES.items()}

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job *job_id* with its state (and result once done); ``None`` when unknown."""
        if not self.is_id(job_id):
            return None
        for name, state in STATES.items():
            try:
                data = json.loads((self.root / name / f"{job_id}.json").read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue
            return {"id": job_id, "state": state, **data}
        return None

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        """The last *limit* finished jobs, newest first."""
        names = sorted(
            (p.stem for s in ("done", "failed") for p in (self.root / s).glob("*.json")), reverse=True
        )
        return [job for job in (self.job(n) for n in names[:limit]) if job is not None]

    def claim(self) -> str | None:
        """Move the oldest queued job to ``processing/`` and return its id; ``None`` when none is left."""
        for path in sorted((self.root / "incoming").glob("*.json")):
            try:
                os.replace(path, self.root / "processing" / path.name)
            except FileNotFoundError:
                continue  # another worker took it
            return path.stem
        return None

    def process(self, job_id: str) -> dict[str, Any]:
        """Run the claimed job *job_id* and file its result under ``done/`` or ``failed/``."""
        claimed = self.root / "processing" / f"{job_id}.json"
        data: dict[str, Any] = {}
        try:
            data = json.loads(claimed.read_text(encoding="utf-8"))
            result = OPERATIONS[data["op"]](data["text"])
        except Exception as exc:
            data.update(error=f"{type(exc).__name__}: {exc}", finished=time.time(), worker=os.getpid())
            self._write(self.root / "failed" / claimed.name, data)
            state = "failed"
        else:
            data.update(result=result, finished=time.time(), worker=os.getpid())
            self._write(self.root / "done" / claimed.name, data)
            state = "done"
        claimed.unlink()
        return {"id": job_id, "state": state, **data}

    def _write(self, path: Path, data: dict[str, Any]) -> None:
        # Written to a temporary name first: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
