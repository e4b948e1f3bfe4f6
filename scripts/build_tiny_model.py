"""Builds the embedded tiny XLM-R of the offline demo: a tokenizer and a config, no weights.

Usage: ``python scripts/build_tiny_model.py [--data DIR] [--out DIR]``
(defaults: ``src/xtransfer/assets/demo`` written by ``scripts/make_demo_data.py``, and
``src/xtransfer/assets/tiny-xlmr``).

The tokenizer is a SentencePiece-style Unigram model (Metaspace pre-tokenizer, XLM-R's special
tokens ``<s>``=0 ``<pad>``=1 ``</s>``=2 ``<unk>``=3 and ``<mask>`` last), trained with the
``tokenizers`` library on the demo text of every language and saved as an
``XLMRobertaTokenizerFast``. The config is an ``XLMRobertaConfig`` small enough to train on a
laptop CPU in the demo; the pipeline initialises the weights from it under the run seed, so
nothing binary is shipped. Re-running gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

# One thread: the Unigram trainer's parallel reductions could otherwise round differently
# from run to run, and the committed files must be reproducible byte for byte.
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer, pre_tokenizers  # noqa: E402
from tokenizers.models import Unigram  # noqa: E402
from tokenizers.trainers import UnigramTrainer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / "src" / "xtransfer" / "assets" / "demo"
DEFAULT_OUT = REPO_ROOT / "src" / "xtransfer" / "assets" / "tiny-xlmr"

# Pieces the Unigram trainer may learn. The demo text has only ~1,900 distinct words, so it
# stops well short of this; the character fallback below brings the total to about 4,000.
VOCAB_SIZE = 8000
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")  # ids 0..3, as in XLM-R
MASK_TOKEN = "<mask>"  # appended last, as in XLM-R (id 250001 there)
SCORE_DECIMALS = 6  # rounding keeps tokenizer.json small and free of float noise
FALLBACK_PENALTY = 1.0  # fallback characters score below every learnt piece
METASPACE = "\u2581"  # "▁", SentencePiece's word-start marker

# The demo files whose text trains the tokenizer (those make_demo_data.py writes), by column.
CORPUS_FILES: dict[str, tuple[str, ...]] = {
    "nyu-mll__glue/mnli/*.jsonl": ("premise", "hypothesis"),
    "google__xtreme/XNLI/*.jsonl": ("sentence1", "sentence2"),
    "google__xtreme/PAWS-X.*/*.jsonl": ("sentence1", "sentence2"),
}
TEXT_FILES = "text/*.txt"

# Unicode blocks whose letters and marks become single-character pieces even where the demo text
# lacks them, so that text in the other XTREME languages (other tasks' demo data, a user's own
# files) falls back to characters instead of <unk>. Blocks with thousands of characters (CJK
# ideographs, Hangul syllables) are left to the corpus.
FALLBACK_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x0021, 0x007E),  # Basic Latin (printable, no space)
    (0x00C0, 0x017F),  # Latin-1 letters, Latin Extended-A
    (0x0300, 0x036F),  # combining diacritics (Yoruba, decomposed text)
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x04FF),  # Cyrillic (incl. Kazakh, Ukrainian)
    (0x0590, 0x05FF),  # Hebrew
    (0x0600, 0x06FF),  # Arabic (Arabic, Persian, Urdu)
    (0x0900, 0x0AFF),  # Devanagari, Bengali, Gurmukhi, Gujarati
    (0x0B80, 0x0C7F),  # Tamil, Telugu
    (0x0D00, 0x0D7F),  # Malayalam
    (0x0E00, 0x0E7F),  # Thai
    (0x1000, 0x109F),  # Myanmar
    (0x10A0, 0x10FF),  # Georgian
    (0x1EA0, 0x1EF9),  # Vietnamese letters with two diacritics (Latin Extended Additional)
    (0x3040, 0x30FF),  # Hiragana, Katakana
)
FALLBACK_CATEGORIES = ("L", "M", "N", "P", "S")


def fallback_alphabet() -> list[str]:
    """The fallback characters, in code-point order."""
    chars = []
    for start, end in FALLBACK_BLOCKS:
        for code in range(start, end + 1):
            char = chr(code)
            if unicodedata.category(char)[0] in FALLBACK_CATEGORIES:
                chars.append(char)
    return chars


def corpus_lines(data: Path) -> Iterator[str]:
    """Every sentence of the demo data, in a fixed order (sorted paths, file order)."""
    for pattern, columns in CORPUS_FILES.items():
        for path in sorted(data.glob(pattern)):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    for column in columns:
                        yield row[column]
    for path in sorted(data.glob(TEXT_FILES)):
        yield from path.read_text(encoding="utf-8").splitlines()


def train_vocab(lines: Sequence[str], vocab_size: int = VOCAB_SIZE) -> list[tuple[str, float]]:
    """The Unigram vocabulary: specials, learnt pieces, fallback characters, ``<mask>``.

    Why not simply ``train_from_iterator(lines)``: the ``tokenizers`` Unigram trainer seeds its
    candidate pieces with substrings that repeat across *distinct* words (a suffix array over
    the word list), but weighs single characters by their *count*. On a corpus this small and
    repetitive a frequent whole word such as "▁Anna" is one distinct word, never becomes a
    candidate, and the result is little more than an alphabet. So the trainer sees each distinct
    word once, already in XLM-R's Metaspace form ("▁Anna"), next to a copy with a word-end mark
    ("▁Anna▁") that makes the whole word a repeated substring and hence a candidate. Pieces
    spanning the artificial mark are dropped afterwards; they can never match at run time, where
    text is split at whitespace before the model sees it.
    """
    words = sorted({word for line in lines for word in line.split()})
    tokenizer = Tokenizer(Unigram())
    # Words are fed pre-marked, so training must not split or mark them again.
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        unk_token="<unk>",
        max_piece_length=16,
        shrinking_factor=0.75,
        n_sub_iterations=2,
        show_progress=False,
    )
    feed = [f"{METASPACE}{word} {METASPACE}{word}{METASPACE}" for word in words]
    tokenizer.train_from_iterator(feed, trainer=trainer, length=len(feed))
    trained = json.loads(tokenizer.to_str())["model"]["vocab"]

    # The trainer gives the characters its EM dropped the lowest score plus 1e-4 per character,
    # counted in a hash set's iteration order, which changes from process to process: that band
    # is flattened to the lowest score, so that the same corpus always gives the same file.
    lowest = min(float(score) for piece, score in trained if piece not in SPECIAL_TOKENS)
    n_chars = sum(len(piece) == 1 for piece, _ in trained)
    band_top = lowest + 1e-4 * n_chars + 1e-9
    learnt: dict[str, float] = {}
    for piece, score in trained:
        if piece in SPECIAL_TOKENS or METASPACE in piece[1:]:
            continue
        if len(piece) == 1 and float(score) <= band_top:
            score = lowest
        learnt[piece] = round(float(score), SCORE_DECIMALS)
    # Sorted by score, then by piece: the trainer's own order of equal scores follows a hash
    # map's iteration order, which changes from process to process.
    pieces = sorted(learnt.items(), key=lambda item: (-item[1], item[0]))
    floor = round(min(learnt.values()) - FALLBACK_PENALTY, SCORE_DECIMALS)
    pieces += [(char, floor) for char in fallback_alphabet() if char not in learnt]
    return [(token, 0.0) for token in SPECIAL_TOKENS] + pieces + [(MASK_TOKEN, 0.0)]


def build(data: Path, out: Path, vocab_size: int = VOCAB_SIZE) -> dict[str, int]:
    """Writes the tokenizer and config.json into ``out``; returns sizes for the log."""
    from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

    lines = list(corpus_lines(data))
    if not lines:
        raise SystemExit(f"no demo text under {data}: run scripts/make_demo_data.py first")
    vocab = train_vocab(lines, vocab_size)
    # Built from the vocabulary, the class sets up XLM-R's pre-tokenizer, decoder and the
    # `<s> A </s></s> B </s>` post-processor itself, exactly as it will on every load.
    tokenizer = XLMRobertaTokenizerFast(vocab=vocab, model_max_length=512)
    if tokenizer.mask_token_id != len(vocab) - 1 or tokenizer.unk_token_id != 3:
        raise RuntimeError("special token ids differ from XLM-R's layout")

    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=514,  # 512 positions + XLM-R's offset of pad_token_id + 1
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    config.save_pretrained(out)
    return {"corpus_lines": len(lines), "vocab_size": len(tokenizer)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="demo data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--vocab-size", type=int, default=VOCAB_SIZE)
    args = parser.parse_args(argv)
    stats = build(args.data, args.out, args.vocab_size)
    print(
        f"tokenizer: {stats['vocab_size']} pieces from {stats['corpus_lines']} lines; "
        f"wrote {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
