"""`xtransfer study NAME RUNS_DIR... [--out DIR] [--set KEY=VALUE ...]`: one research study.

The runs come from the study's sweep (`xtransfer train -m +experiment=study_<name>`); the study
writes table.md, table.csv and figures (PNG + PDF) into --out.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError


def _parse_option(text: str) -> tuple[str, Any]:
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set takes KEY=VALUE, not {text!r}")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    return key.strip().replace("-", "_"), parsed


def load_study(name: str):
    """The study's module, or a UserError naming the known studies / the missing module."""
    from xtransfer.studies import STUDIES

    if name not in STUDIES:
        raise UserError(f"unknown study {name!r}; known: {', '.join(STUDIES)}")
    module_name = STUDIES[name]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name == module_name:
            raise UserError(
                f"study {name!r} is not available yet (module {module_name} does not exist)"
            ) from None
        raise


def main(argv: list[str]) -> int:
    from xtransfer.studies import STUDIES

    parser = argparse.ArgumentParser(
        prog="xtransfer study",
        description="Analyse the runs of a study sweep: writes table.md, table.csv and "
        "figures (PNG + PDF). Studies: " + ", ".join(STUDIES) + ". "
        "`xtransfer study NAME --options` lists a study's options.",
    )
    parser.add_argument("name", metavar="NAME", help="one of: " + ", ".join(STUDIES))
    parser.add_argument(
        "runs",
        nargs="*",
        type=Path,
        metavar="RUNS_DIR",
        help="run or sweep folders (every results.json below them is read)",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: RUNS_DIR/report)")
    parser.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a study option (repeatable; YAML values)",
    )
    parser.add_argument(
        "--options", dest="list_options", action="store_true", help="list the study's options"
    )
    args = parser.parse_args(argv)

    module = load_study(args.name)
    known: dict[str, str] = dict(getattr(module, "OPTIONS", {}))
    if args.list_options:
        print(f"options of study {args.name!r} (--set KEY=VALUE):")
        for key, text in known.items():
            print(f"  {key:<18} {text}")
        return 0
    if not args.runs:
        raise UserError("give the folder(s) holding the study's runs, e.g. outputs/studies/NAME")
    options = dict(_parse_option(o) for o in args.options)
    unknown = sorted(set(options) - set(known)) if known else []
    if unknown:
        raise UserError(
            f"unknown option(s) {', '.join(unknown)} for study {args.name!r}; "
            f"known: {', '.join(known) or 'none'}"
        )
    out = args.out or args.runs[0] / "report"
    runs_dir: Path | list[Path] = args.runs[0] if len(args.runs) == 1 else list(args.runs)
    report = module.analyse(runs_dir, out, **options)
    for note in report.get("notes", []):
        print(note)
    for path in [*report.get("tables", []), *report.get("figures", [])]:
        print(f"wrote {path}")
    return 0
