"""The commands (metadata.yaml /commands): ``add-note`` and ``count``.

A command is ``func(argv) -> int`` (spec section 6.2). Both read the settings from
the filled-in file at ``PYAPP_CONFIG_FILE`` and the data from the ``notes`` writable dir.
"""

from __future__ import annotations

import argparse
import sys

from . import store
from .settings import Settings, read_config_file

__all__ = ["add_note", "count"]


def add_note(argv: list[str]) -> int:
    """Add a note; print its id. Exit 2 on a usage error or invalid note, 1 without data dir."""
    parser = argparse.ArgumentParser(prog="add-note", description="Add a note.")
    parser.add_argument("text", nargs="+", help="the note's text (words are joined with spaces)")
    parser.add_argument("--tag", help="one of the configured tags")
    parser.add_argument("--author", default="command line", help="who wrote it")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    settings = read_config_file()
    if args.tag is not None and args.tag not in settings.tags:
        print(f"add-note: unknown tag {args.tag!r} (tags: {', '.join(settings.tags)})", file=sys.stderr)
        return 2
    data_dir = _data_dir(settings)
    if data_dir is None:
        return 1
    with store.connect(data_dir) as conn:
        try:
            note_id = store.add(conn, " ".join(args.text), tag=args.tag, author=args.author)
        except ValueError as exc:
            print(f"add-note: {exc}", file=sys.stderr)
            return 2
    print(f"added note {note_id}")
    return 0


def count(argv: list[str]) -> int:
    """Print the number of notes (with ``--tag``, of that tag)."""
    parser = argparse.ArgumentParser(prog="count", description="Print how many notes there are.")
    parser.add_argument("--tag", help="count only the notes with this tag")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    data_dir = _data_dir(read_config_file())
    if data_dir is None:
        return 1
    with store.connect(data_dir) as conn:
        print(store.count(conn, args.tag))
    return 0


def _data_dir(settings: Settings) -> str | None:
    try:
        data_dir, _ = settings.require_dirs()
    except ValueError as exc:
        print(f"notes: {exc}", file=sys.stderr)
        return None
    return str(data_dir)
