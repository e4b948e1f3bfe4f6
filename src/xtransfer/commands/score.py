"""`xtransfer score`: score an XTREME-format prediction folder like the official evaluate.py.

Imports nothing heavy (no torch, no transformers) so that it starts instantly.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

DESCRIPTION = """\
Score an XTREME submission folder against a label folder with the semantics of
google-research/xtreme evaluate.py (scores on a 0-100 scale).

Both folders have the layout <task>/test-<lang>.<tsv|json|jsonl>. Every language of the
benchmark that has both a prediction and a label file is scored; the others are listed under
"missing" (with --strict they are an error). all_task and group scores appear only when every
task they cover is complete."""


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"xtransfer score: {record.levelname.lower()}: {record.getMessage()}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xtransfer score",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--predictions", required=True, type=Path, metavar="DIR")
    parser.add_argument("--labels", required=True, type=Path, metavar="DIR")
    parser.add_argument(
        "--benchmark",
        default="xtreme",
        choices=["xtreme", "xtreme-r"],
        help="which task list, language lists and groups to use (default: xtreme)",
    )
    parser.add_argument(
        "--tasks",
        default=None,
        metavar="T,...",
        help="comma-separated subset of the benchmark's tasks (default: all)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail when any language of a selected task lacks a prediction or label file",
    )
    parser.add_argument(
        "--format",
        default="json",
        choices=["json", "table"],
        help="json (official shape, default) or a readable table",
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)

    # Warnings (unanswered questions, missing languages, ...) go to stderr as one line each,
    # keeping stdout clean JSON.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    logger = logging.getLogger("xtransfer.evaluation")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False

    from xtransfer.evaluation.scoring import score_folder

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    try:
        result = score_folder(
            args.predictions, args.labels, benchmark=args.benchmark, tasks=tasks, strict=args.strict
        )
    finally:
        logger.removeHandler(handler)

    for task, langs in result["missing"].items():
        print(
            f"xtransfer score: warning: {task}: no prediction or label file for "
            f"{len(langs)} language(s): {' '.join(langs)}",
            file=sys.stderr,
        )
    if args.format == "table":
        from xtransfer.evaluation.table import render_table

        sys.stdout.write(render_table(result, args.benchmark))
    else:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
