"""Start one supervised process: read its JSON file, then ``exec`` its argv.

Run by supervisord as ``python -I -S _exec.py FILE``. It replaces itself with the
real program (same pid, so supervisord's signals reach it) under exactly the
environment in FILE. Standard library only: it is on the start path of every
supervised process.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["main"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: _exec.py FILE\n")
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            data = json.load(f)
        args = [str(a) for a in data["argv"]]
        environ = {str(k): str(v) for k, v in data["environment"].items()}
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        sys.stderr.write(f"pyapp: cannot read process file {argv[1]}: {exc}\n")
        return 126
    try:
        os.execvpe(args[0], args, environ)  # noqa: S606 -- an argv list, no shell
    except OSError as exc:
        sys.stderr.write(f"pyapp: cannot start {args[0]!r}: {exc}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
