"""Writes the embedded demo's translate-train data: MNLI train "machine-translated" into a few
XNLI languages, in the layout of ``facebook/xnli`` (one config per language, split ``train``,
columns ``premise``, ``hypothesis``, ``label`` as a ClassLabel id in MNLI's order).

Usage: ``python scripts/make_demo_translated.py [--out DIR] [--seed N]``
(default: ``src/xtransfer/assets/demo``, files ``facebook__xnli/<lang>/train.jsonl``).

Like the real XNLI translate-train (a translation of MNLI train), each file renders the first
``TRANSLATED_SIZE`` items of the demo's English MNLI train set in the language, with the
lexicons and items of ``make_demo_data.py`` (imported, unchanged): the English MNLI file and
these files are parallel. Output is byte-identical on every run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_demo_data as base  # noqa: E402  (a sibling script, not a package)

# A few XNLI languages in different scripts; the others have no embedded translate-train.
TRANSLATED_LANGS = ("de", "es", "fr", "ru", "zh")
TRANSLATED_SIZE = 400  # rows per language: the first English MNLI train items


def generate(out: Path, seed: int = base.DEFAULT_SEED) -> dict[str, int]:
    """Writes every translate-train file under ``out``; returns {relative path: rows}."""
    items = base._nli_items(base._split_rng(seed, "mnli/train"), base.MNLI_SIZES["train"])
    written = {}
    for lang in TRANSLATED_LANGS:
        rows = (
            {
                "premise": base.render_premise(lang, item.premise, item.premise_form),
                "hypothesis": base.render_hypothesis(lang, item.hypothesis, item.hypothesis_form),
                "label": item.label,
            }
            for item in items[:TRANSLATED_SIZE]
        )
        path = out / "facebook__xnli" / lang / "train.jsonl"
        written[path.relative_to(out).as_posix()] = base._write_jsonl(path, rows)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=base.DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=base.DEFAULT_SEED)
    args = parser.parse_args(argv)
    written = generate(args.out, args.seed)
    print(f"wrote {len(written)} files ({sum(written.values())} rows) under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
