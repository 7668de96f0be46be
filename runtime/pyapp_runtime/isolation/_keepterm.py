"""Start a program with SIGTERM ignored: ``python -I -S _keepterm.py PROGRAM ARG...``.

bubblewrap's outer process does not forward signals: put in front of it under
supervisord (see :mod:`.sandbox`), it outlives the stop signal sent to the whole
process group, which the app inside gets and acts on (the app's bootstrap restores
the default action first), and it exits with the app's status.
"""

import os
import signal
import sys

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])  # noqa: S606 -- an argv list, no shell
    except (IndexError, OSError) as exc:
        sys.stderr.write(f"pyapp: cannot start {sys.argv[1:2]}: {exc}\n")
    sys.exit(127)
