"""`xtransfer table RUN_OR_SWEEP_DIR... [--format md|csv|latex] [--reference NAME] [--figure F]`."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="xtransfer table",
        description="Paper-style grid (rows: intermediate setups; columns: targets + average) "
        "from the results.json files under run or sweep folders.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="run or sweep folders")
    parser.add_argument("--format", choices=["md", "csv", "latex"], default="md")
    parser.add_argument("--reference", help="published numbers beside ours, e.g. xlmr-large")
    parser.add_argument("--per-language", metavar="TASK", help="per-language breakdown of TASK")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--figure",
        type=Path,
        metavar="FILE.png|FILE.pdf",
        help="also draw the intermediate x target change against none as a heatmap",
    )
    args = parser.parse_args(argv)

    from xtransfer.reporting.table import find_results, per_language, render

    results = find_results(args.paths)
    text = (
        per_language(results, args.per_language)
        if args.per_language
        else render(results, args.format, args.reference)
    )
    print(text, end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, "utf-8")
    if args.figure:
        from xtransfer.reporting.heatmap import write_heatmap

        print(f"figure: {write_heatmap(results, args.figure)}")
    return 0
