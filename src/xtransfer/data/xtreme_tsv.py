"""Reader of the sentence-pair TSV files of XTREME's download (xnli/, pawsx/).

``utils_preprocess.py`` writes them with ``csv.writer(delimiter='\\t')``: no header, CRLF line
ends, minimal ``"`` quoting (docs/xtreme-download-layout.md §0). Train and dev rows are
``sentence1, sentence2, label``; test rows are ``sentence1, sentence2`` because the download
removes test labels, which therefore have to be put back (as a third column) before scoring.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError

FIELDS = ("sentence1", "sentence2", "label")


def read_xtreme_pair_tsv(path: Path) -> list[dict[str, Any]]:
    """Rows ``{sentence1, sentence2, label}`` of one xnli/pawsx file of the XTREME layout."""
    rows: list[dict[str, Any]] = []
    unlabelled = 0
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quotechar='"')
        for fields in reader:
            if not fields:
                continue
            if len(fields) not in (2, 3):
                raise UserError(
                    f"{path}:{reader.line_num}: {len(fields)} fields; XTREME's pair files have "
                    "sentence1, sentence2 and (except test) label"
                )
            unlabelled += len(fields) == 2
            rows.append(dict(zip(FIELDS, fields, strict=False)))
    if rows and unlabelled == len(rows):
        raise UserError(
            f"{path}: no label column. XTREME's download_data.sh removes test labels; to score "
            "the test set, add each row's gold label as a third column (from the original "
            "release, e.g. gold_label of XNLI-1.0/xnli.test.tsv or label of PAWS-X test_2k.tsv)"
        )
    if unlabelled:
        raise UserError(f"{path}: {unlabelled} of {len(rows)} rows have no label column")
    return rows
