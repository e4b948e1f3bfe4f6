"""`xtransfer cache list|verify|gc`: inspect, check and clean the phase cache.

    xtransfer cache list   [--root OUTPUT_ROOT] [--cache-dir DIR]
    xtransfer cache verify [--root OUTPUT_ROOT] [--cache-dir DIR]
    xtransfer cache gc     [--root OUTPUT_ROOT] [--cache-dir DIR] [--older-than 7d] [--dry-run]

The cache is ``<OUTPUT_ROOT>/cache`` (the default ``cache_dir`` of a run) unless ``--cache-dir``
names it; the runs whose ``results.json`` files say which phases are in use are found under
``<OUTPUT_ROOT>/runs``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from xtransfer.errors import UserError


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line (via UserError), not a usage dump."""

    def error(self, message: str):
        raise UserError(f"{message} (see `xtransfer cache --help`)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="xtransfer cache",
        description="List, verify and garbage-collect the phase cache.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root",
        type=Path,
        default=Path("outputs"),
        metavar="OUTPUT_ROOT",
        help="the runs' output_root (default: outputs)",
    )
    common.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="the phase cache (default: OUTPUT_ROOT/cache)"
    )
    sub = parser.add_subparsers(dest="action", metavar="{list,verify,gc}", parser_class=_Parser)
    sub.add_parser(
        "list", parents=[common], help="each phase: key, size, age, tasks, the runs that use it"
    )
    sub.add_parser(
        "verify", parents=[common], help="hash every file against its manifest; exit 1 if damaged"
    )
    gc = sub.add_parser(
        "gc", parents=[common], help="remove stale .partial-* folders and phases no run uses"
    )
    gc.add_argument(
        "--older-than",
        default="7d",
        metavar="AGE",
        help="only what was idle this long: 30m, 12h, 7d, 2w, or 0 (default: 7d)",
    )
    gc.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.action is None:
        raise UserError("give an action: list, verify or gc (see `xtransfer cache --help`)")
    from xtransfer.pipeline import cache_admin

    older_than = cache_admin.parse_duration(args.older_than) if args.action == "gc" else 0.0
    cache_dir = args.cache_dir or args.root / "cache"
    cache = cache_admin.open_cache(cache_dir)
    if args.action == "verify":
        return _verify(cache)
    uses = cache_admin.find_run_uses(args.root / "runs")
    for path in uses.unreadable:
        print(f"xtransfer cache: warning: {path} is unreadable; not counted", file=sys.stderr)
    if args.action == "list":
        return _list(cache, uses)
    return _gc(cache, uses, older_than, args.dry_run)


def _list(cache, uses) -> int:
    from xtransfer.pipeline.cache_admin import format_age, format_size, inventory

    entries = inventory(cache, uses)
    if not entries:
        print(f"the phase cache at {cache.root} is empty")
        return 0
    now = time.time()
    rows = [("KEY", "SIZE", "AGE", "PHASE", "TASKS", "USED BY")]
    for e in entries:
        used = ", ".join(e.used_by) if e.used_by else "-"
        rows.append(
            (
                e.key,
                format_size(e.size),
                format_age(now - e.last_used),
                "partial" if e.partial else (e.name or "?"),
                "+".join(e.tasks) or "-",
                "(work folder)" if e.partial else used,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        padded = [f"{cell:<{w}}" for cell, w in zip(row[:-1], widths, strict=True)]
        print("  ".join([*padded, row[-1]]))
    total = sum(e.size for e in entries)
    unused = sum(1 for e in entries if not e.partial and not e.used_by)
    print(
        f"{len(entries)} folders, {format_size(total)} in {cache.root}; "
        f"{unused} phases used by no run under the runs folder"
    )
    return 0


def _verify(cache) -> int:
    from xtransfer.pipeline.cache_admin import verify

    results = verify(cache)
    damaged = [(key, problem) for key, problem in results if problem is not None]
    for key, problem in damaged:
        print(f"DAMAGED  {key}: {problem}")
    print(f"{len(results)} phases checked in {cache.root}: {len(damaged)} damaged")
    if damaged:
        print(
            "a damaged phase is retrained by the next run that needs it; "
            "`xtransfer cache gc --older-than 0` removes it if no run uses it",
        )
    return 1 if damaged else 0


def _gc(cache, uses, older_than: float, dry_run: bool) -> int:
    from xtransfer.pipeline.cache_admin import collect_garbage, format_size

    removals = collect_garbage(cache, uses, older_than, dry_run)
    freed = 0
    for r in removals:
        if r.skipped:
            print(f"kept     {r.entry.path.name}: {r.reason}, but {r.skipped}")
            continue
        freed += r.entry.size
        verb = "would remove" if dry_run else "removed"
        print(f"{verb:<12} {r.entry.path.name} ({format_size(r.entry.size)}): {r.reason}")
    verb = "would free" if dry_run else "freed"
    print(f"{verb} {format_size(freed)} in {cache.root}")
    return 0
