"""UD-POS built as XTREME builds it (data=local data.ud_root=DIR), checked on the real UD v2.5
treebanks in ../shared/data/ud-2.5 against expectations computed here from the raw CoNLL-U text
by XTREME's documented procedure (google-research/xtreme scripts/download_data.sh
download_udpos, third_party/ud-conversion-tools lib/conll.py, utils_preprocess.py
udpos_preprocess), not by the module under test.

The oracle builds each sentence's graph with networkx exactly as lib/conll.py's reader does
(an edge HEAD -> word and one per integer head of DEPS) and takes the multiword token's UPOS from
the word with the fewest ``nx.ancestors``, ties broken by the POS precedence list."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from xtransfer.data import ud_xtreme
from xtransfer.data.sources import data_identity, load_rows
from xtransfer.errors import UserError
from xtransfer.tasks.registry import get_task

pytestmark = pytest.mark.realdata

nx = pytest.importorskip("networkx")

# conllu_to_conll.py's default list (the languages tested here have no list of their own).
PRECEDENCE = "VERB NOUN PROPN PRON ADJ NUM ADV INTJ AUX ADP DET PART CCONJ SCONJ X PUNCT".split()


@pytest.fixture(scope="module")
def ud_root(shared_data: Path) -> Path:
    path = shared_data / "ud-2.5"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


def _files_of(root: Path, lang: str, split: str) -> list[Path]:
    # download_udpos: `IFS='_' read` -> the ISO code before the first "_"; udpos_preprocess:
    # sorted(files) of the language folder, split = "train"/"dev"/"test" in the name.
    return sorted(
        (p for p in root.glob("*.conllu") if p.name.split("_")[0] == lang and split in p.name),
        key=lambda p: p.name,
    )


def _oracle_sentences(path: Path) -> list[tuple[list[str], list[str]]]:
    """(tokens, tags) per sentence of one file by XTREME's procedure, from the raw text."""
    out = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [ln.split("\t") for ln in block.split("\n") if ln and not ln.startswith("#")]
        if not lines:
            continue
        graph = nx.DiGraph()
        words, ranges = {}, []
        for f in lines:
            if re.fullmatch(r"\d+", f[0]):
                i = int(f[0])
                words[i] = (f[1], f[3])
                graph.add_edge(int(f[6]), i)
                for dep in f[8].split("|") if f[8] != "_" else []:
                    head = dep.split(":")[0]
                    if head.isdigit():
                        graph.add_edge(int(head), i)
            elif re.fullmatch(r"\d+-\d+", f[0]):
                first, last = map(int, f[0].split("-"))
                ranges.append((first, last, f[1]))
        replaced = {}
        for first, last, form in ranges:
            span = list(range(first, last + 1))
            depth = [len(nx.ancestors(graph, w)) for w in span]
            top = [w for w, d in zip(span, depth, strict=True) if d == min(depth)]
            head = min(top, key=lambda w: PRECEDENCE.index(words[w][1])) if len(top) > 1 else top[0]
            replaced.update({w: None for w in span})
            replaced[head] = form
        tokens, tags = [], []
        for i in sorted(words):
            if i in replaced and replaced[i] is None:
                continue
            form = replaced.get(i, words[i][0]).strip()
            tokens.append(form.replace("\u200c", "").replace(" ", ""))
            tags.append(words[i][1])
        n_empty = sum(t == "_" for t in tokens)
        if n_empty == 0 or n_empty < len(tokens) - 1:
            out.append((tokens, tags))
    return out


def _oracle(root: Path, lang: str, split: str) -> list[tuple[list[str], list[str]]]:
    return [s for path in _files_of(root, lang, split) for s in _oracle_sentences(path)]


def _surface_token_count(path: Path) -> tuple[int, int]:
    """(sentences, tokens) by counting lines: words minus the words a range line fuses."""
    text = path.read_text(encoding="utf-8")
    words = len(re.findall(r"^\d+\t", text, flags=re.MULTILINE))
    fused = sum(int(b) - int(a) for a, b in re.findall(r"^(\d+)-(\d+)\t", text, flags=re.MULTILINE))
    return len(re.findall(r"^# sent_id", text, flags=re.MULTILINE)), words - fused


DATA = {"source": "local", "files": {}, "udpos": {"words": "xtreme"}}
CASES = [
    ("tr", "test"),
    ("tr", "validation"),
    ("tr", "train"),
    ("fi", "test"),
    ("fi", "validation"),
    ("ko", "test"),
    ("ja", "test"),
    ("hu", "test"),
    ("en", "validation"),
]


@pytest.mark.parametrize(("lang", "split"), CASES)
def test_built_sets_equal_xtreme_procedure_sentence_for_sentence(ud_root, lang, split):
    task = get_task("udpos")
    rows = load_rows(task, split, lang, {**DATA, "ud_root": str(ud_root)})
    expected = _oracle(ud_root, lang, "dev" if split == "validation" else split)
    labels = task.labels
    got = [(r["tokens"], [labels[t] for t in r["label"]]) for r in rows]
    assert len(got) == len(expected)
    assert got == expected
    # And the plain line counts agree: one token per surface token, no sentence dropped here.
    counts = [
        _surface_token_count(p)
        for p in _files_of(ud_root, lang, "dev" if split == "validation" else split)
    ]
    assert len(rows) == sum(c[0] for c in counts)
    assert sum(len(r["tokens"]) for r in rows) == sum(c[1] for c in counts)


def test_korean_and_japanese_pool_every_treebank_in_file_name_order(ud_root):
    data = {**DATA, "ud_root": str(ud_root)}
    for lang, names in (
        ("ko", ["ko_gsd-ud-test.conllu", "ko_kaist-ud-test.conllu", "ko_pud-ud-test.conllu"]),
        ("ja", ["ja_gsd-ud-test.conllu", "ja_pud-ud-test.conllu"]),
    ):
        rows, where = ud_xtreme.load_ud_release(data, "test", lang)
        assert " + ".join(names) in where
        # Each file's sentences follow the previous file's, in order.
        offset = 0
        for name in names:
            part = _oracle_sentences(ud_root / name)
            assert [r["tokens"] for r in rows[offset : offset + len(part)]] == [s[0] for s in part]
            offset += len(part)
        assert offset == len(rows)
    # Korean has no multiword tokens, and the Hub pools the same three test treebanks for
    # udpos.Korean (hub-facts: 4276 test rows), so the sentence counts must agree.
    facts = Path(__file__).resolve().parents[2] / "shared/docs/hub-facts/google__xtreme.json"
    if facts.is_file():
        hub = json.loads(facts.read_text("utf-8"))["configs"]["udpos.Korean"]["splits"]
        assert len(ud_xtreme.load_ud_release(data, "test", "ko")[0]) == hub["test"]


def test_turkish_fused_tokens_take_the_span_heads_tag_not_always_the_first(ud_root):
    path = ud_root / "tr_imst-ud-test.conllu"
    built = [r["pos_tags"] for r in ud_xtreme.xtreme_sentences(path, "tr")]
    # The shortcut "a multiword token gets its first word's UPOS", from the raw text.
    shortcut = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [ln.split("\t") for ln in block.split("\n") if ln and not ln.startswith("#")]
        if not lines:
            continue
        skip, tags = set(), []
        for f in lines:
            if "-" in f[0]:
                first, last = map(int, f[0].split("-"))
                skip |= set(range(first + 1, last + 1))
            elif f[0].isdigit() and int(f[0]) not in skip:
                tags.append(f[3])
        shortcut.append(tags)
    assert len(built) == len(shortcut)
    differing = sum(
        a != b for x, y in zip(built, shortcut, strict=True) for a, b in zip(x, y, strict=True)
    )
    assert differing > 0  # XTREME's span-head rule is not the first word (IMST: suffix heads)


def test_mostly_underscore_sentences_are_dropped_and_inner_spaces_removed(ud_root, tmp_path):
    # Real EWT sentences, made into the cases of udpos_preprocess: forms hidden ("_") as in
    # treebanks whose text is not distributed, and a form with a space and a U+200C in it.
    blocks = (ud_root / "en_ewt-ud-test.conllu").read_text("utf-8").split("\n\n")[:4]

    def with_forms(block: str, change) -> str:
        out = []
        for line in block.split("\n"):
            f = line.split("\t")
            if len(f) == 10 and f[0].isdigit():
                f[1] = change(int(f[0]), f[1])
            out.append("\t".join(f))
        return "\n".join(out)

    n_words = [sum(1 for ln in b.split("\n") if ln.split("\t")[0].isdigit()) for b in blocks[:4]]
    assert min(n_words) >= 3
    hidden = with_forms(blocks[0], lambda i, w: "_")  # every form "_": dropped
    all_but_one = with_forms(blocks[1], lambda i, w: w if i == 1 else "_")  # n-1 "_": dropped
    two_visible = with_forms(blocks[2], lambda i, w: w if i <= 2 else "_")  # n-2 "_": kept
    spaced = with_forms(blocks[3], lambda i, w: f"a b\u200cc{w}" if i == 1 else w)
    path = tmp_path / "en_test-ud-test.conllu"
    path.write_text("\n\n".join([hidden, all_but_one, two_visible, spaced]) + "\n\n", "utf-8")
    rows = ud_xtreme.xtreme_sentences(path, "en")
    assert len(rows) == 2
    assert rows[0]["tokens"][2:] == ["_"] * (n_words[2] - 2)
    assert rows[1]["tokens"][0].startswith("abc")


def test_syntactic_option_keeps_the_words_and_records_it_in_the_identity(ud_root):
    task = get_task("udpos")
    syntactic = {**DATA, "ud_root": str(ud_root), "udpos": {"words": "syntactic"}}
    rows = load_rows(task, "test", "tr", syntactic)
    words = len(
        re.findall(r"^\d+\t", (ud_root / "tr_imst-ud-test.conllu").read_text("utf-8"), re.M)
    )
    assert sum(len(r["tokens"]) for r in rows) == words
    ident = data_identity(task, "test", "tr", syntactic)["ud_release"]
    assert ident["words"] == "syntactic" and ident["files"][0][0] == "tr_imst-ud-test.conllu"
    xtreme = data_identity(task, "test", "tr", {**DATA, "ud_root": str(ud_root)})["ud_release"]
    assert xtreme["words"] == "xtreme"


def test_release_folder_layout_and_clear_errors(ud_root, tmp_path):
    # The release tarball unpacks as ud-treebanks-v2.5/UD_<Name>/<file>.conllu.
    release = tmp_path / "ud-treebanks-v2.5"
    (release / "UD_Turkish-IMST").mkdir(parents=True)
    (release / "UD_Turkish-IMST" / "tr_imst-ud-test.conllu").symlink_to(
        ud_root / "tr_imst-ud-test.conllu"
    )
    rows, _ = ud_xtreme.load_ud_release({"ud_root": str(release)}, "test", "tr")
    assert len(rows) == _surface_token_count(ud_root / "tr_imst-ud-test.conllu")[0]
    with pytest.raises(UserError, match="no fi_"):
        ud_xtreme.load_ud_release({"ud_root": str(release)}, "test", "fi")
    with pytest.raises(UserError, match="ud_root_v27"):
        ud_xtreme.load_ud_release({"ud_root": str(release)}, "test", "lt")
    with pytest.raises(UserError, match="data.udpos.words"):
        ud_xtreme.word_mode({"udpos": {"words": "surface"}})


def test_file_selection_rules_of_download_udpos():
    assert ud_xtreme.file_language("el_gdt-ud-test.conllu") == "el"
    assert ud_xtreme.file_language("grc_perseus-ud-test.conllu") == "grc"
    assert ud_xtreme.file_split("ko_kaist-ud-dev.conllu") == "dev"
    assert ud_xtreme.file_split("README.md") is None


def test_a_tie_with_a_tag_outside_the_precedence_list_fails_like_xtreme():
    words = {
        1: ud_xtreme._Word("a", "SYM", {0}),
        2: ud_xtreme._Word("b", "NOUN", {0}),
    }
    with pytest.raises(ud_xtreme.ConversionFailed):
        ud_xtreme.span_head(words, [1, 2], ud_xtreme._PRECEDENCE["default"])
    words[1] = ud_xtreme._Word("a", "ADP", {0})
    assert ud_xtreme.span_head(words, [1, 2], ud_xtreme._PRECEDENCE["default"]) == 2
    words[1] = ud_xtreme._Word("a", "ADP", {2})  # 1 hangs below 2: 2 is the one highest word
    assert ud_xtreme.span_head(words, [1, 2], ["ADP"]) == 2
