"""`xtransfer` command-line dispatcher.

Each subcommand lives in its own module, imported only when that subcommand runs, so that
`xtransfer --help`, `tasks` and `score` never pay for importing torch or transformers.
`train`, `evaluate` and `plan` are Hydra apps: their argv is handed to Hydra untouched.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module, one-line summary). The module exposes `main(argv: list[str]) -> int | None`.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("xtransfer.commands.train", "run the pipeline (Hydra overrides, -m to sweep)"),
    "evaluate": ("xtransfer.commands.evaluate", "zero-shot scores of a saved model on a target"),
    "score": ("xtransfer.commands.score", "score an XTREME-format prediction folder"),
    "plan": ("xtransfer.commands.plan", "dry run: the phases a command would run, cached or new"),
    "table": ("xtransfer.commands.table", "paper-style tables from run or sweep folders"),
    "tasks": ("xtransfer.commands.tasks", "the task catalogue"),
    "study": ("xtransfer.commands.study", "a research study's table and figures from its runs"),
    "cache": ("xtransfer.commands.cache", "list, verify and garbage-collect the phase cache"),
}

USAGE = """usage: xtransfer <command> [args...]

English intermediate-task training and zero-shot cross-lingual evaluation (XTREME / XTREME-R).

commands:
{commands}

`xtransfer train` with no overrides runs the offline demo (tiny model, embedded data).
`xtransfer <command> --help` shows the options of one command.
"""


def _usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [f"  {name:<{width}}  {summary}" for name, (_, summary) in SUBCOMMANDS.items()]
    return USAGE.format(commands="\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage(), end="")
        return 0
    if argv[0] in ("-V", "--version"):
        from xtransfer import __version__

        print(f"xtransfer {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"xtransfer: unknown command {name!r}\n", file=sys.stderr)
        print(_usage(), end="", file=sys.stderr)
        return 2
    module = importlib.import_module(SUBCOMMANDS[name][0])
    from xtransfer.errors import UserError

    try:
        return int(module.main(rest) or 0)
    except UserError as err:
        print(f"xtransfer {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"xtransfer {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
