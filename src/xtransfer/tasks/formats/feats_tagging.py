"""Morphological-feature tagging (UD FEATS): the tagging format with the FEATS bundle as the tag.

Every word is tagged with its whole FEATS bundle (``Number=Sing|Person=3``, ``_`` for none),
one label per bundle, in the catalogue's ``labels`` order. Windowing, heads, decoding and the
prediction files are those of :class:`TaggingFormat`; this subclass only turns the source's
``feats`` column into tag ids, because

* the sources spell bundles differently: CoNLL-U files write ``Case=Nom|Number=Sing`` (or
  ``_``), the Hub's ``universal_dependencies`` rows hold the Python ``str()`` of a dict
  (``"{'Case': 'Nom', 'Number': 'Sing'}"``, or ``"None"``; docs/hub-schemas.md §15);
  both are normalised to the CoNLL-U spelling with features sorted by name;
* the Hub rows list every token line of the treebank, multiword-token lines included (``1-2
  cannot``, followed by its words ``can`` and ``not``); a source that maps ``upos`` marks them
  with a UPOS of ``_`` (the Hub's ClassLabel id for it is given by the catalogue's
  ``skip_upos``), and those positions are dropped so that only syntactic words are tagged;
* a bundle that is not in the label list (a rare combination, typically with ``Typo=Yes`` or
  ``Abbr=Yes``) must still get a tag rather than fail the run: it is mapped to the listed
  bundle that shares the most ``Feature=Value`` pairs with it, then differs in the fewest,
  then comes first in the list (the lists are ordered by frequency); a bundle that shares no
  pair with any listed one becomes ``_``. The mapping is deterministic and logged once per
  bundle, so training, model selection and scoring all see the same tags.

The model-selection score is token accuracy: FEATS bundles are not chunks, so the chunk F1
of UD-POS and PAN-X would reward runs of equal bundles rather than correct words.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any

from xtransfer.errors import UserError
from xtransfer.tasks.formats.tagging import TaggingFormat

log = logging.getLogger(__name__)

NO_FEATS = "_"


@cache
def normalise_bundle(value: Any) -> str:
    """The CoNLL-U spelling of one word's FEATS, features sorted by name (case-insensitive,
    as the UD guidelines order them): ``Number=Sing|Person=3`` or ``_``."""
    if value is None:
        return NO_FEATS
    text = str(value).strip()
    if text in ("", NO_FEATS, "None", "{}"):
        return NO_FEATS
    if text.startswith("{"):
        # The Hub's str(dict). literal_eval evaluates literals only, never code.
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed = None
        if not isinstance(parsed, dict):
            raise UserError(f"malformed FEATS value {text[:80]!r}")
        pairs = [(str(k), str(v)) for k, v in parsed.items()]
    else:
        pairs = []
        for part in text.split("|"):
            name, sep, feature_value = part.partition("=")
            if not sep or not name or not feature_value:
                raise UserError(f"malformed FEATS value {text[:80]!r} (expected Name=Value|...)")
            pairs.append((name, feature_value))
    pairs.sort(key=lambda pair: (pair[0].lower(), pair[0]))
    return "|".join(f"{name}={feature_value}" for name, feature_value in pairs)


def _pairs(bundle: str) -> frozenset[str]:
    return frozenset() if bundle == NO_FEATS else frozenset(bundle.split("|"))


def nearest_bundle(bundle: str, labels: Sequence[str]) -> str:
    """The listed bundle that stands in for an unlisted one (see the module docstring)."""
    if bundle in labels:
        return bundle
    wanted = _pairs(bundle)
    best, best_key = NO_FEATS, (0, float("-inf"))
    for label in labels:  # strict ">" below: the first in list order wins ties
        have = _pairs(label)
        shared = len(wanted & have)
        key = (shared, -len(wanted ^ have))
        if shared > 0 and key > best_key:
            best, best_key = label, key
    return best


class FeatsTaggingFormat(TaggingFormat):
    name = "feats_tagging"
    version = 1

    def __init__(self, task):
        super().__init__(task)
        if NO_FEATS not in self.labels:
            raise UserError(f"task {task.name}: the FEATS label list must contain {NO_FEATS!r}")
        self._index = {label: i for i, label in enumerate(self.labels)}
        self._reported: set[str] = set()

    def tag_id(self, value: Any) -> int:
        """The label id of one word's FEATS value, through the fallback if it is unlisted."""
        bundle = normalise_bundle(value)
        if bundle in self._index:
            return self._index[bundle]
        stand_in = nearest_bundle(bundle, self.labels)
        if bundle not in self._reported:
            self._reported.add(bundle)
            log.info("%s: unlisted FEATS bundle %s tagged as %s", self.task.name, bundle, stand_in)
        return self._index[stand_in]

    def _labelled(self, rows: Sequence[dict]) -> list[dict]:
        """Rows of words only, with ``label`` (tag ids) computed from ``feats``; rows that
        already carry ``label`` ids are passed through."""
        skip = set(self.task.raw.get("skip_upos") or [])
        out = []
        for number, row in enumerate(rows, start=1):
            if "label" in row or "feats" not in row:
                out.append(row)
                continue
            tokens, feats = list(row["tokens"]), list(row["feats"])
            upos = row.get("upos")
            if len(feats) != len(tokens) or (upos is not None and len(upos) != len(tokens)):
                raise UserError(
                    f"task {self.task.name}: row {number} has {len(tokens)} words "
                    f"but {len(feats)} FEATS values"
                    + (f" and {len(upos)} UPOS tags" if upos is not None else "")
                )
            if upos is not None and skip:
                keep = [i for i, tag in enumerate(upos) if tag not in skip]
                tokens, feats = [tokens[i] for i in keep], [feats[i] for i in keep]
            out.append(
                {**row, "tokens": tokens, "feats": feats, "label": [self.tag_id(v) for v in feats]}
            )
        return out

    def featurize(self, rows, tokenizer, max_length):
        return super().featurize(self._labelled(rows), tokenizer, max_length)

    def finalize(self, rows, features, feature_predictions):
        return super().finalize(self._labelled(rows), features, feature_predictions)

    def dev_score(self, rows, predictions) -> float:
        correct = total = 0
        for row, predicted in zip(self._labelled(rows), predictions, strict=True):
            correct += sum(int(p == g) for p, g in zip(predicted, row["label"], strict=True))
            total += len(row["label"])
        return 100.0 * correct / max(total, 1)

    def write_labels(self, path, rows) -> None:
        super().write_labels(path, self._labelled(rows))
