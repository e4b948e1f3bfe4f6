"""What every study needs: the runs of a folder, tables in Markdown + CSV, figures in PNG + PDF.

A *run* is a folder holding the ``results.json`` that ``xtransfer train`` writes (SPEC §8); a
study reads every run below the folders it is given, whatever sweep produced them.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError
from xtransfer.results import headline, language_headlines


@dataclass
class Run:
    """One finished run: its folder and the parsed ``results.json``."""

    path: Path
    result: dict[str, Any]

    @property
    def intermediate(self) -> str:
        return str(self.result.get("intermediate", "?"))

    @property
    def target(self) -> str:
        return str(self.result.get("target", "?"))

    @property
    def seed(self) -> int | None:
        seed = self.result.get("seed")
        return int(seed) if seed is not None else None

    @property
    def model(self) -> str:
        return str(self.result.get("model", "?"))

    @property
    def data(self) -> str:
        return str(self.result.get("data", "?"))

    @property
    def tasks(self) -> list[str]:
        """The scored target tasks (keys of ``summary``)."""
        return list(self.result.get("summary", {}))

    def headline(self, task: str) -> float | None:
        """The task's headline number: the official ``avg_metric`` (``results.headline``)."""
        return headline(self.result, task)

    @property
    def scores(self) -> list[dict[str, Any]]:
        return list(self.result.get("scores", []))

    def lang_scores(self, task: str) -> dict[str, float]:
        """{language: the headline rule for that language} ((EM + F1) / 2 for QA): their mean
        is the task's ``avg_metric``."""
        return language_headlines(self.result, task)

    def phases(self, name: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.result.get("phases", []) if name is None or p["name"] == name]

    def checkpoint(self, phase: str = "intermediate") -> Path | None:
        """The checkpoint folder of the last phase of that name (None when the run has none)."""
        found = self.phases(phase)
        return Path(found[-1]["checkpoint"]) if found and found[-1].get("checkpoint") else None

    def config(self) -> dict[str, Any] | None:
        """The resolved config Hydra saved beside the run (``.hydra/config.yaml``), if present."""
        path = self.path / ".hydra" / "config.yaml"
        if not path.is_file():
            return None
        from omegaconf import OmegaConf

        return OmegaConf.to_container(OmegaConf.load(path), resolve=False)


def collect_runs(paths: Path | str | Iterable[Path | str]) -> list[Run]:
    """Every run (a folder with ``results.json``) below the given run or sweep folder(s)."""
    from xtransfer.reporting.table import find_result_files

    paths = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    runs: list[Run] = []
    # The reader refuses a file that is not an xtransfer results file (no scores), naming it.
    for file, result in find_result_files(paths):
        runs.append(Run(file.parent, result))
    return runs


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (None for a single value)."""
    vals = [float(v) for v in values]
    if not vals:
        return math.nan, None
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None)


def fmt_mean_std(values: Sequence[float], digits: int = 1) -> str:
    """``mean ± std (n)``-style cell: ``58.8 ± 1.2`` (no ± for one seed, ``–`` for none)."""
    if not values:
        return "–"
    mean, std = mean_std(values)
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def fmt_num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_table(
    out_dir: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    name: str = "table",
    title: str | None = None,
    notes: Sequence[str] = (),
    csv_rows: Sequence[Sequence[Any]] | None = None,
    csv_header: Sequence[str] | None = None,
) -> list[Path]:
    """Writes ``<name>.md`` (title, table, notes) and ``<name>.csv``.

    The CSV may carry a machine-friendly variant (``csv_header``/``csv_rows``: separate mean and
    std columns, unrounded numbers) of the Markdown table.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = [f"## {title}\n" if title else "", markdown_table(header, rows)]
    if notes:
        parts.append("\n" + "\n".join(notes) + "\n")
    md = out_dir / f"{name}.md"
    md.write_text("\n".join(p for p in parts if p), "utf-8")
    csv_path = out_dir / f"{name}.csv"
    csv_path.write_text(
        csv_table(csv_header or header, csv_rows if csv_rows is not None else rows), "utf-8"
    )
    return [md, csv_path]


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, imported on first use."""
    try:
        import matplotlib
    except ImportError:
        raise UserError(
            "the studies draw figures with matplotlib: pip install 'xtransfer[plots]'"
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, out_dir: Path, stem: str, dpi: int = 150) -> list[Path]:
    """Saves a matplotlib figure as ``<stem>.png`` and ``<stem>.pdf`` and closes it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=dpi, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    pyplot().close(fig)
    return paths


@dataclass
class Study:
    """What a study wrote, returned by ``analyse`` (as a dict) and printed by the command."""

    name: str
    out_dir: Path
    tables: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "out_dir": str(self.out_dir),
            "tables": [str(p) for p in self.tables],
            "figures": [str(p) for p in self.figures],
            "notes": list(self.notes),
            "data": self.data,
        }


# ---- the analysis skeleton every study shares ---------------------------------------------------


def as_list(value: Any) -> list[str] | None:
    """A list option as given on the command line (``a,b`` or ``a b``) or in YAML (a list)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.replace(",", " ").split() if v.strip()]
    return [str(v) for v in value]


def signed(value: float | None) -> str:
    """A gain cell: ``+1.23`` (``–`` when there is none)."""
    return "–" if value is None else f"{value:+.2f}"


def rounded(value: float | None, digits: int = 4) -> Any:
    """A CSV number: rounded, or empty when missing (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return round(float(value), digits)


def setup_label(setup: str, model: str, data: str, several: bool) -> str:
    """A row's setup, naming the model/data pair only when the folder holds several."""
    return f"{setup} ({model}/{data})" if several else setup


def order_setups(found: set[str], preferred: Sequence[str], wanted: Sequence[str] | None) -> list:
    """The setups to show: those asked for (in that order), else the preferred ones first."""
    if wanted:
        return [s for s in wanted if s in found]
    preferred = list(dict.fromkeys(preferred))
    return [s for s in preferred if s in found] + sorted(found - set(preferred))


def lang_score_lists(runs: Iterable[Run], key: Callable[[Run, str], tuple]) -> dict[tuple, list]:
    """{key(run, task) + (lang,): [score of every run]}: the seeds of each per-language cell."""
    acc: dict[tuple, list[float]] = defaultdict(list)
    for run in runs:
        for task in run.tasks:
            for lang, value in run.lang_scores(task).items():
                acc[(*key(run, task), lang)].append(value)
    return acc


def write_per_language(out_dir: Path, runs: Iterable[Run], group_of=None) -> Path:
    """per_language.csv: mean over seeds of every (model, data, target, setup, language), with
    the language's group when ``group_of(lang)`` is given."""
    acc = lang_score_lists(runs, lambda r, t: (r.model, r.data, t, r.intermediate))
    header = ["model", "data", "target", "setup", "lang", "mean", "seeds"]
    if group_of is not None:
        header.insert(5, "group")
    rows = [
        [*key, *([group_of(key[4])] if group_of else []), rounded(statistics.fmean(v)), len(v)]
        for key, v in sorted(acc.items())
    ]
    path = out_dir / "per_language.csv"
    path.write_text(csv_table(header, rows), "utf-8")
    return path


def write_csv(out_dir: Path, name: str, header: Sequence[str], rows: Sequence) -> list[Path]:
    """``<name>`` (a CSV file) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    path.write_text(csv_table(header, rows), "utf-8")
    return [path]


def append_section(out_dir: Path, heading: str, body: str) -> list[Path]:
    """Adds a ``## heading`` section to ``table.md`` (already listed: returns no new file)."""
    md = out_dir / "table.md"
    md.write_text(md.read_text("utf-8") + f"\n## {heading}\n\n" + body, "utf-8")
    return []


@dataclass
class Table:
    """The study's main table: Markdown cells, and a machine-friendly CSV variant."""

    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str
    notes: Sequence[str] = ()
    csv_header: Sequence[str] | None = None
    csv_rows: Sequence[Sequence[Any]] | None = None


OutputStep = Callable[[Path], list[Path]]


def write_report(
    name: str,
    out_dir: Path,
    table: Table,
    *,
    before: Sequence[OutputStep] = (),
    after: Sequence[OutputStep] = (),
    figures: OutputStep | None = None,
    notes: Sequence[str] = (),
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The end every study shares: extra tables (``before``), ``table.md``/``.csv``, additions
    to them or more files (``after``), the figures; returns what was written (``Study``)."""
    study = Study(name, out_dir)
    for step in before:
        study.tables += step(out_dir)
    study.tables += write_table(
        out_dir,
        table.header,
        table.rows,
        title=table.title,
        notes=table.notes,
        csv_header=table.csv_header,
        csv_rows=table.csv_rows,
    )
    for step in after:
        study.tables += step(out_dir)
    study.figures = figures(out_dir) if figures else []
    study.notes = list(notes)
    study.data = data or {}
    return study.as_dict()
