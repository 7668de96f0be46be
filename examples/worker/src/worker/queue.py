"""The queue worker process (metadata.yaml ``processes.queue``: ``call: worker.queue:run``).

A process is ``func(*args)`` and runs until it is stopped (spec section 6.5): this one
processes jobs until SIGTERM or SIGINT, finishing the job at hand first. With
``--once`` it processes the jobs already queued and returns.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading

from .jobs import JobQueue

__all__ = ["run"]


def run(*args: str) -> int:
    parser = argparse.ArgumentParser(prog="worker", description="Process queued jobs.")
    parser.add_argument("--once", action="store_true", help="process the queued jobs, then exit")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the queue")
    try:
        options = parser.parse_args(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    queue = JobQueue.from_environ()
    stop = threading.Event()
    if not options.once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        print(f"worker {os.getpid()}: waiting for jobs in {queue.root / 'incoming'}", flush=True)
    while not stop.is_set():
        job_id = queue.claim()
        if job_id is None:
            if options.once:
                break
            stop.wait(options.interval)
            continue
        job = queue.process(job_id)
        print(f"worker {os.getpid()}: job {job_id} {job['state']}", flush=True)
    print(f"worker {os.getpid()}: stopped", flush=True)
    return 0
