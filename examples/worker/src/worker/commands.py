"""The commands ``enqueue`` and ``status`` (``serve-api`` is in :mod:`worker.api`)."""

from __future__ import annotations

import argparse
import sys

from .jobs import OPERATIONS, JobQueue

__all__ = ["enqueue", "status"]


def enqueue(argv: list[str]) -> int:
    """Queue a job and print its id; exit 2 for an unknown operation."""
    parser = argparse.ArgumentParser(prog="enqueue", description="Queue a job.")
    parser.add_argument("op", help=f"the operation: {', '.join(OPERATIONS)}")
    parser.add_argument("text", nargs="+", help="the text to work on (words are joined with spaces)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        job_id = JobQueue.from_environ().enqueue(args.op, " ".join(args.text))
    except ValueError as exc:
        print(f"enqueue: {exc}", file=sys.stderr)
        return 2
    print(job_id)
    return 0


def status(argv: list[str]) -> int:
    """Print one ``state: count`` line per state."""
    if argv:
        print("usage: status", file=sys.stderr)
        return 2
    for state, count in JobQueue.from_environ().counts().items():
        print(f"{state}: {count}")
    return 0
