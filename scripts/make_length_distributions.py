#!/usr/bin/env python
"""Writes ``scripts/bench_data/length_distributions.json``: the token-length distributions the
GPU check (``scripts/gpu_check.py``) trains on, derived from the shared benchmark files.

Only the checkout travels to a GPU machine, not ``../shared/data``, so the lengths travel as a
small JSON of histograms instead of the data. Token ids come from the embedded tiny tokenizer
(the XLM-R tokenizer is not available offline), featurised by the project's own formats:

- ``tatoeba``: every Tatoeba sentence with its English translation as a sentence pair
  (classification features, as XNLI/PAWS-X pairs), truncated at each max length;
- ``xquad``: every XQuAD question + paragraph of the 12 languages as QA windows (stride 128)
  at each max length.

Usage: ``python scripts/make_length_distributions.py [--data-dir ../shared/data]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / "scripts" / "bench_data" / "length_distributions.json"
MAX_LENGTHS = (128, 256, 384)


def histogram(lengths: list[int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(Counter(lengths).items())}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO_ROOT / "src"))
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from bench import TINY_DIR, XQUAD_LANGS, tatoeba_pairs

    from xtransfer.data.squad_json import read_squad_json
    from xtransfer.tasks.formats.classification import ClassificationFormat
    from xtransfer.tasks.formats.span_qa import SpanQAFormat
    from xtransfer.tasks.registry import get_task
    from xtransfer.training.model import load_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    logging.getLogger("xtransfer").setLevel(logging.ERROR)  # XQuAD's moved-answer report

    tokenizer = load_tokenizer(str(TINY_DIR))
    cls_fmt, qa_fmt = ClassificationFormat(get_task("xnli")), SpanQAFormat(get_task("xquad"))
    pairs = tatoeba_pairs(args.data_dir, None)
    pair_rows = [{"text_a": a, "text_b": b, "label": 0} for _, a, b in pairs]
    qa_rows = [
        row
        for lang in XQUAD_LANGS
        for row in read_squad_json(args.data_dir / "xquad" / f"xquad.{lang}.json")
    ]
    sources: dict[str, dict[str, dict[str, int]]] = {"tatoeba": {}, "xquad": {}}
    for max_length in MAX_LENGTHS:
        cls = cls_fmt.featurize(pair_rows, tokenizer, max_length)
        qa = qa_fmt.featurize(qa_rows, tokenizer, max_length)
        sources["tatoeba"][str(max_length)] = histogram([len(f["input_ids"]) for f in cls])
        sources["xquad"][str(max_length)] = histogram([len(f["input_ids"]) for f in qa])
        print(f"max length {max_length}: {len(cls)} pairs, {len(qa)} QA windows", file=sys.stderr)
    out = {
        "description": (
            "Token-length histograms (length -> count) of the shared Tatoeba pairs and XQuAD "
            "QA windows (stride 128), tiny-tokenizer ids, per max length; written by "
            "scripts/make_length_distributions.py, read by scripts/gpu_check.py."
        ),
        "tokenizer": "embedded tiny-xlmr",
        "sources": {
            "tatoeba": f"{len(pair_rows)} sentence pairs (sentence + English translation)",
            "xquad": f"{len(qa_rows)} questions, 12 languages",
        },
        "histograms": sources,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"written {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
