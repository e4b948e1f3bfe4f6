"""Research studies (SPEC §11): each turns a folder of runs into a table and figures.

A study module exposes ``analyse(runs_dir: Path, out_dir: Path, **options) -> dict`` that writes
``table.md``, ``table.csv`` and figures (``*.png`` + ``*.pdf``) into ``out_dir``; it may also
expose ``OPTIONS: dict[str, str]`` (option name -> help) for ``xtransfer study NAME --help``.
Modules are imported only when their study runs (the analysis of some needs torch).
"""

from __future__ import annotations

# name -> module path (imported lazily by `xtransfer study NAME`).
STUDIES: dict[str, str] = {
    "sequential": "xtransfer.studies.sequential",
    "data-volume": "xtransfer.studies.data_volume",
    "morphology": "xtransfer.studies.morphology",
    "multimodal": "xtransfer.studies.multimodal",
    "alignment": "xtransfer.studies.alignment",
}
