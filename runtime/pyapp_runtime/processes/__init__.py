"""The apps' processes: planned from a release, supervised by supervisord, started beside the
running ones and switched once healthy; their ports, run state, logs and task scheduler."""
