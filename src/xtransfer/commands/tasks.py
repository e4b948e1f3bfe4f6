"""`xtransfer tasks`: the task catalogue as a table."""

from __future__ import annotations

import argparse

from xtransfer.tasks.registry import all_tasks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xtransfer tasks", description=__doc__)
    parser.parse_args(argv)
    rows = []
    for spec in all_tasks().values():
        langs = "; ".join(f"{bench}: {len(codes)}" for bench, codes in spec.languages.items())
        sources = ", ".join(sorted(spec.raw.get("splits", {}))) or "-"
        rows.append((spec.name, spec.format, spec.metric, langs, sources))
    header = ("task", "format", "metric", "languages", "splits")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    user = [spec for spec in all_tasks().values() if spec.user_file]
    if user:
        print("\nuser tasks (XTRANSFER_TASKS, ./xtransfer_tasks/):")
        for spec in user:
            print(f"  {spec.name}: {spec.user_file}")
    return 0
