"""Embedded demo data for QQP, SNLI and ANLI (R1-R3), the parts of the paper's ANLI+ and QQP
intermediate tasks, laid out like their Hub repos (``<owner>__<name>/<config>/<split>.jsonl``).

They are carved deterministically out of the existing demo files, in disjoint slices, so no new
text is invented and the existing demo data stay untouched: SNLI and ANLI rows come from the
MNLI demo (same NLI label order: entailment, neutral, contradiction), QQP rows from the English
PAWS-X demo (paraphrase pairs; label 1 = duplicate).

    python scripts/make_demo_nli_extra.py [OUT_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "src" / "xtransfer" / "assets" / "demo"


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write(root: Path, rel: str, rows: list[dict]) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return rel


def _nli(rows: list[dict], extra: dict | None = None) -> list[dict]:
    return [
        {
            "premise": r["premise"],
            "hypothesis": r["hypothesis"],
            "label": r["label"],
            **(extra or {}),
        }
        for r in rows
    ]


def generate(out: Path) -> list[str]:
    mnli = _read(DEMO / "nyu-mll__glue" / "mnli" / "train.jsonl")
    mnli_dev = _read(DEMO / "nyu-mll__glue" / "mnli" / "validation_matched.jsonl")
    paws = _read(DEMO / "google__xtreme" / "PAWS-X.en" / "train.jsonl")
    paws_dev = _read(DEMO / "google__xtreme" / "PAWS-X.en" / "validation.jsonl")
    written = [
        _write(out, "stanfordnlp__snli/plain_text/train.jsonl", _nli(mnli[:240])),
        _write(out, "stanfordnlp__snli/plain_text/validation.jsonl", _nli(mnli_dev[:40])),
    ]
    for i, r in enumerate(("r1", "r2", "r3")):
        train = mnli[240 + 80 * i : 320 + 80 * i]
        dev = mnli_dev[40 + 30 * i : 70 + 30 * i]
        written.append(
            _write(
                out,
                f"facebook__anli/plain_text/train_{r}.jsonl",
                [{"uid": f"{r}-{j}", **x} for j, x in enumerate(_nli(train))],
            )
        )
        written.append(
            _write(
                out,
                f"facebook__anli/plain_text/dev_{r}.jsonl",
                [{"uid": f"{r}-dev-{j}", **x} for j, x in enumerate(_nli(dev))],
            )
        )
    qqp = [
        {
            "question1": r["sentence1"],
            "question2": r["sentence2"],
            "label": int(r["label"]),
            "idx": i,
        }
        for i, r in enumerate(paws[400:800])
    ]
    qqp_dev = [
        {
            "question1": r["sentence1"],
            "question2": r["sentence2"],
            "label": int(r["label"]),
            "idx": i,
        }
        for i, r in enumerate(paws_dev[:80])
    ]
    written.append(_write(out, "nyu-mll__glue/qqp/train.jsonl", qqp))
    written.append(_write(out, "nyu-mll__glue/qqp/validation.jsonl", qqp_dev))
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEMO
    for rel in generate(target):
        print(target / rel)
