"""Start one supervised process: read its process file, then ``exec`` its argv.

Run by supervisord as ``python -I -S _exec.py FILE``. It replaces itself with the
real program (same pid, so supervisord's signals reach it) under exactly the
environment in FILE, its standard input ``/dev/null``: supervisord connects it to a
pipe it keeps open, where a read would wait forever (spec section 6.1: hooks, tasks
and processes read an empty input). It is on the start path of every supervised
process, so it imports nothing: FILE is NUL-separated (no argument or variable can
hold a NUL)::

    pyapp-exec-1 NUL <number of arguments> NUL <argument>... NUL <NAME=value>...

A file in the JSON form of earlier versions (``{"argv": [...], "environment": {...}}``)
is still read, for programs configured before an upgrade.
"""

from __future__ import annotations

import os
import sys

__all__ = ["MAGIC", "empty_stdin", "main", "parse"]

MAGIC = b"pyapp-exec-1"


def parse(data: bytes) -> tuple[list[bytes], dict[bytes, bytes]]:
    """The argv and environment in a process file; ``ValueError`` when it is not one."""
    if data.startswith(b"{"):
        import json  # the earlier form only

        raw = json.loads(data)
        args = [os.fsencode(str(a)) for a in raw["argv"]]
        return args, {os.fsencode(str(k)): os.fsencode(str(v)) for k, v in raw["environment"].items()}
    fields = data.split(b"\0")
    if len(fields) < 3 or fields[0] != MAGIC or not fields[1].isdigit():
        raise ValueError("not a process file")
    count = int(fields[1])
    args, variables = fields[2 : 2 + count], fields[2 + count :]
    if len(args) != count or count == 0 or any(b"=" not in v for v in variables):
        raise ValueError("a truncated or malformed process file")
    return args, dict(v.split(b"=", 1) for v in variables)


def empty_stdin() -> None:
    """Connect standard input to ``/dev/null``: a read gets end of file at once."""
    null = os.open(os.devnull, os.O_RDONLY)
    if null != 0:
        os.dup2(null, 0)
        os.close(null)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: _exec.py FILE\n")
        return 2
    try:
        with open(argv[1], "rb") as f:
            args, environ = parse(f.read())
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        sys.stderr.write(f"pyapp: cannot read process file {argv[1]}: {exc}\n")
        return 126
    try:
        empty_stdin()
        os.execvpe(args[0], args, environ)  # noqa: S606 -- an argv list, no shell
    except OSError as exc:
        sys.stderr.write(f"pyapp: cannot start {args[0]!r}: {exc}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
