"""``python -m pyapp_runtime.taskrun``: the command of every app's task scheduler program.

supervisord's program files name this module, also those written by earlier versions
of the runtime, so it stays where it is; the scheduler itself is
:mod:`pyapp_runtime.processes.taskrun`.
"""

from __future__ import annotations

import sys

from .processes.taskrun import main

if __name__ == "__main__":
    sys.exit(main())
