"""UD-POS data built exactly as XTREME builds it from a Universal Dependencies release folder.

XTREME's ``scripts/download_data.sh`` (``download_udpos``) and ``utils_preprocess.py``
(``udpos_preprocess``), read in google-research/xtreme:

1. Every ``<release>/UD_*/*.conllu`` whose file name's ISO prefix (the text before the first
   ``_``: ``el_gdt-ud-test.conllu`` is ``el``, ``grc_perseus-...`` is ``grc``) is the language
   belongs to it. The split is the first of ``train``, ``dev``, ``test`` found in the file name;
   the files of one split are concatenated in file-name order.
2. Each file goes through the vendored ud-conversion-tools (``conllu_to_conll.py --lang <iso>
   --replace_subtokens_with_fused_forms --print_fused_forms``, ``lib/conll.py``): a multiword
   token (``1-2 zum``) becomes ONE token with the fused surface form and the UPOS of its "span
   head" (:func:`span_head`), not of its first word.
3. ``udpos_preprocess`` drops sentences whose forms are mostly ``_`` (text not distributed)
   and removes ASCII spaces and U+200C (zero-width non-joiner) inside words.

XTREME-R's five additions (lt pl uk wo ro) come from UD v2.7, every other language from v2.5.
A file on which XTREME's converter stops with an error (a tie between span words whose UPOS is
not in the language's precedence list raises ``ValueError`` there) yields no output file in
XTREME, so that treebank is missing from XTREME's data: it is left out here too, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xtransfer.data.conllu import _read_text_lines, read_conllu
from xtransfer.errors import UserError

log = logging.getLogger(__name__)

# Bumped whenever the construction changes: part of the data identity (phase cache key).
BUILD_VERSION = 1

WORD_MODES = ("xtreme", "syntactic")

# conllu_to_conll.py POSRANKPRECEDENCEDICT. The default list ends with "" because XTREME splits
# "... PUNCT " on " "; fr still says CONJ (the UD v1 name), as in XTREME.
_PRECEDENCE: dict[str, list[str]] = {
    "default": "VERB NOUN PROPN PRON ADJ NUM ADV INTJ AUX ADP DET PART CCONJ SCONJ X PUNCT ".split(
        " "
    ),
    "es": "VERB AUX PRON ADP DET".split(" "),
    "fr": "VERB AUX PRON NOUN ADJ ADV ADP DET PART SCONJ CONJ".split(" "),
    "it": "VERB AUX ADV PRON ADP DET INTJ".split(" "),
}

# The release folder each language comes from (anything not listed: v2.5).
_V27_LANGUAGES = ("lt", "pl", "uk", "wo", "ro")


class ConversionFailed(Exception):
    """XTREME's converter would stop on this file (so XTREME's data do not contain it)."""


@dataclass
class _Word:
    form: str
    upos: str
    parents: set[int]  # heads in the basic tree and in the enhanced graph (DEPS)


# --- Step 1: which files ------------------------------------------------------------------------


def file_language(name: str) -> str:
    """The ISO prefix XTREME files a treebank under: the text before the first ``_``."""
    return name.split("_", 1)[0]


def file_split(name: str) -> str | None:
    """``train`` / ``dev`` / ``test`` as XTREME tests them, on the converted name, in that order."""
    converted = name.replace("conllu", "conll", 1)
    for split in ("train", "dev", "test"):
        if split in converted:
            return split
    return None


def release_root(data_cfg: Mapping[str, Any], lang: str) -> Path:
    """The UD release folder of ``lang``: ``data.ud_root`` (v2.5), or ``data.ud_root_v27`` for
    XTREME-R's additions lt pl uk wo ro."""
    key = "ud_root_v27" if lang in _V27_LANGUAGES else "ud_root"
    root = data_cfg.get(key)
    if not root:
        if key == "ud_root_v27":
            raise UserError(
                f"udpos {lang} is an XTREME-R addition built from UD v2.7: set "
                "data.ud_root_v27=DIR (the unpacked ud-treebanks-v2.7 folder)"
            )
        raise UserError("data.ud_root is not set (the unpacked ud-treebanks-v2.5 folder)")
    path = Path(str(root))
    if not path.is_dir():
        raise UserError(f"data.{key}={root}: no such folder (a UD release, ud-treebanks-v2.x/)")
    return path


def treebank_files(root: Path, lang: str, split: str) -> list[Path]:
    """The CoNLL-U files of ``lang`` and ``split`` (``train``/``dev``/``test``) in ``root``, in
    XTREME's order. The release layout is ``UD_*/*.conllu``; files directly in ``root`` are
    found too (a folder of copied treebank files)."""
    found = list(root.glob("*/*.conllu")) + list(root.glob("*.conllu"))
    chosen = [p for p in found if file_language(p.name) == lang and file_split(p.name) == split]
    return sorted(chosen, key=lambda p: p.name)


# --- Step 2: ud-conversion-tools with fused forms -------------------------------------------------


def _parse_id(text: str) -> int | tuple[int, int] | None:
    if text == "_" or "." in text:
        return None  # empty nodes ("5.1") are not read
    parts = tuple(int(x) for x in text.split("-"))
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def _deps_heads(text: str) -> list[int]:
    """Heads of the DEPS column that XTREME's reader adds as graph edges (integer heads only)."""
    if text == "_":
        return []
    return [int(p.split(":")[0]) for p in text.split("|") if p.split(":")[0].isdigit()]


def _ancestor_count(words: Mapping[int, _Word], node: int) -> int:
    """``len(nx.ancestors(G, node))`` of XTREME's graph: every node with a path to ``node``
    over basic and enhanced edges, ROOT (0) included, ``node`` itself excluded."""
    seen: set[int] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        for parent in words[current].parents if current in words else ():
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    seen.discard(node)
    return len(seen)


def span_head(words: Mapping[int, _Word], span: list[int], precedence: list[str]) -> int:
    """The word of a multiword token whose UPOS the fused token gets (lib/conll.py
    ``_choose_spanhead_from_heuristics``): the one word closest to the root (fewest ancestors);
    among several equally close, the first with the best rank in ``precedence``. A tied UPOS
    missing from the list makes XTREME's converter fail (``list.index``)."""
    depth = [_ancestor_count(words, w) for w in span]
    highest = [w for w, d in zip(span, depth, strict=True) if d == min(depth)]
    if len(highest) == 1:
        return highest[0]
    best, best_rank = -1, len(precedence) + 1
    for w in highest:
        if words[w].upos not in precedence:
            raise ConversionFailed(
                f"tie between multiword-token words {span} with UPOS {words[w].upos!r}, "
                "which is not in the language's precedence list"
            )
        rank = precedence.index(words[w].upos)
        if rank < best_rank:
            best, best_rank = w, rank
    return best


def _sentence_blocks(path: Path) -> Iterable[tuple[int, list[tuple[int, list[str]]]]]:
    """(first line number, [(line number, fields)]) per sentence; comments dropped."""
    block: list[tuple[int, list[str]]] = []
    start = 0
    for line_no, line in enumerate(_read_text_lines(path), start=1):
        if not line:
            if block:
                yield start, block
            block = []
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 10:
            raise UserError(
                f"{path}:{line_no}: malformed CoNLL-U line: {len(fields)} TAB-separated fields, "
                "expected 10"
            )
        if not block:
            start = line_no
        block.append((line_no, fields))
    if block:
        yield start, block


def convert_with_fused_forms(path: Path, lang: str) -> list[tuple[list[str], list[str]]]:
    """(forms, UPOS tags) per sentence as ``conllu_to_conll.py`` writes them with
    ``--replace_subtokens_with_fused_forms``: each multiword token replaced by its fused form,
    tagged with its span head's UPOS."""
    precedence = _PRECEDENCE.get(lang, _PRECEDENCE["default"])
    sentences = []
    for _start, block in _sentence_blocks(path):
        words: dict[int, _Word] = {}
        spans: dict[int, tuple[int, str]] = {}  # first word -> (last word, fused form)
        for line_no, fields in block:
            try:
                word_id = _parse_id(fields[0])
            except ValueError:
                raise UserError(f"{path}:{line_no}: malformed CoNLL-U id {fields[0]!r}") from None
            if isinstance(word_id, tuple):
                spans[word_id[0]] = (word_id[1], fields[1])
            elif isinstance(word_id, int):
                head = _parse_id(fields[6])
                if not isinstance(head, int):
                    raise UserError(f"{path}:{line_no}: word {word_id} has no integer HEAD")
                words[word_id] = _Word(fields[1], fields[3], {head, *_deps_heads(fields[8])})
        if sorted(words) != list(range(1, len(words) + 1)):
            raise UserError(f"{path}:{block[0][0]}: word ids of the sentence are not 1..n")
        if any(not 1 <= first <= last <= len(words) for first, (last, _) in spans.items()):
            raise UserError(f"{path}:{block[0][0]}: a multiword-token range outside the sentence")
        heads = {
            first: span_head(words, list(range(first, last + 1)), precedence)
            for first, (last, _form) in sorted(spans.items())
        }
        covered = {w for first, (last, _) in spans.items() for w in range(first, last + 1)}
        fused_at = {heads[first]: form for first, (_last, form) in spans.items()}
        forms, tags = [], []
        for w in range(1, len(words) + 1):
            if w in covered and w not in fused_at:
                continue  # a non-head word of a multiword token is removed
            forms.append(fused_at.get(w, words[w].form))
            tags.append(words[w].upos)
        sentences.append((forms, tags))
    return sentences


# --- Step 3: udpos_preprocess ------------------------------------------------------------------


def keeps_sentence(forms: list[str]) -> bool:
    """``_read_one_file``: kept when no form is ``_`` or fewer than ``len - 1`` forms are."""
    empty = sum(form == "_" for form in forms)
    return empty == 0 or empty < len(forms) - 1


def clean_form(form: str) -> str:
    """``remove_empty_space``: the form (stripped, as ``items[1].strip()``) without U+200C and
    without ASCII spaces."""
    return "".join(form.strip().replace("\u200c", "").split(" "))


def xtreme_sentences(path: Path, lang: str) -> list[dict[str, list[str]]]:
    """Rows ``{"tokens", "pos_tags"}`` of one treebank file as XTREME's UD-POS files hold them."""
    rows = []
    for forms, tags in convert_with_fused_forms(path, lang):
        stripped = [form.strip() for form in forms]
        if keeps_sentence(stripped):
            rows.append({"tokens": [clean_form(f) for f in forms], "pos_tags": list(tags)})
    return rows


def word_mode(data_cfg: Mapping[str, Any], default: str = "xtreme") -> str:
    """``data.udpos.words``: ``xtreme`` (fused multiword tokens, XTREME's sets) or
    ``syntactic`` (one token per syntactic word, the plain CoNLL-U reading)."""
    mode = str(((data_cfg.get("udpos") or {}).get("words")) or default)
    if mode not in WORD_MODES:
        raise UserError(f"data.udpos.words must be one of {', '.join(WORD_MODES)}, not {mode!r}")
    return mode


def read_file_rows(path: Path, lang: str, mode: str) -> list[dict[str, Any]]:
    """One CoNLL-U file in ``mode`` (``xtreme`` or ``syntactic``)."""
    if mode == "syntactic":
        return read_conllu(path)
    try:
        return xtreme_sentences(path, lang)
    except ConversionFailed as err:
        raise UserError(f"{path}: XTREME's converter fails on this file ({err})") from None


_SPLIT_NAMES = {"train": "train", "validation": "dev", "dev": "dev", "test": "test"}


def load_ud_release(
    data_cfg: Mapping[str, Any], split: str, lang: str
) -> tuple[list[dict[str, Any]], str]:
    """XTREME's UD-POS ``split`` of ``lang`` from the release folder, and a description of where
    it came from (the pooled file names)."""
    root = release_root(data_cfg, lang)
    ud_split = _SPLIT_NAMES.get(split, split)
    files = treebank_files(root, lang, ud_split)
    if not files:
        raise UserError(
            f"{root}: no {lang}_*-ud-{ud_split}.conllu treebank file (data.ud_root must be an "
            "unpacked UD release: ud-treebanks-v2.x/UD_*/*.conllu)"
        )
    mode = word_mode(data_cfg)
    rows: list[dict[str, Any]] = []
    used = []
    for path in files:
        if mode == "xtreme":
            try:
                part = xtreme_sentences(path, lang)
            except ConversionFailed as err:
                log.warning("%s: left out, as XTREME's converter fails on it (%s)", path, err)
                continue
        else:
            part = read_conllu(path)
        rows.extend(part)
        used.append(path.name)
    return rows, f"{root} ({' + '.join(used)}; words={mode})"


def ud_release_identity(data_cfg: Mapping[str, Any], split: str, lang: str) -> dict[str, Any]:
    """What determines the built rows: the pooled files (size, mtime), the word mode, the
    construction version. Part of every phase's content key."""
    root = release_root(data_cfg, lang)
    files = treebank_files(root, lang, _SPLIT_NAMES.get(split, split))
    return {
        "source": "ud_release",
        "root": str(root.resolve()),
        "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files],
        "lang": lang,
        "split": split,
        "words": word_mode(data_cfg),
        "build": BUILD_VERSION,
    }


def udpos_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``{"udpos_words": mode}`` for results.json when a run reads UD-POS from local CoNLL-U
    (release folder or files), else ``{}``: the word mode changes what a UD-POS score means."""
    data = cfg["data"]
    tasks = {
        str(cfg["target"]["task"]),
        *(str(t) for t in (cfg["intermediate"].get("tasks") or {})),
    }
    if data.get("source") != "local" or "udpos" not in tasks:
        return {}
    named = bool((data.get("files") or {}).get("udpos"))
    return {"udpos_words": word_mode(data, default="syntactic" if named else "xtreme")}
