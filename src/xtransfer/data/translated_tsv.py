"""Reader of XTREME's translate-train TSV files (XNLI and PAWS-X, from the `xtreme_translations`
bucket; docs/xtreme-download-layout.md §4), copied by hand next to the download, e.g.
``xnli/XNLI-Translated/en-de-translated.tsv`` and ``pawsx/translated/en-de-translated.tsv``.

XTREME's README describes five tab-separated columns (the English pair, the translated pair, the
label); the baseline code reads three (the pair and the label). Both shapes are accepted: with
five columns the translated pair is used. No header; XNLI-MT's ``contradictory`` is
``contradiction``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError


def read_translated_tsv(path: Path) -> list[dict[str, Any]]:
    """Rows ``{sentence1, sentence2, label}`` (the translated pair) of one translate-train file."""
    rows: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for fields in reader:
            if not fields:
                continue
            if len(fields) == 5:
                first, second, label = fields[2], fields[3], fields[4]
            elif len(fields) == 3:
                first, second, label = fields
            else:
                raise UserError(
                    f"{path}:{reader.line_num}: {len(fields)} fields; a translate-train file has "
                    "3 (sentence1, sentence2, label) or 5 (English pair, translated pair, label)"
                )
            label = label.strip()
            rows.append(
                {
                    "sentence1": first,
                    "sentence2": second,
                    "label": "contradiction" if label == "contradictory" else label,
                }
            )
    return rows
