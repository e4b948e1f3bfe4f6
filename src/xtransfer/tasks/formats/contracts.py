"""What each task format promises, torch-free: the one place for its file layout and metrics.

A format's contract says which prediction/label files it writes (extension and layout, the
layouts the official scorer reads) and which catalogue metrics a task of that format may
declare (the first is the default for user tasks). The scorer, the
zero-shot evaluator and the user-task parser read these facts from here; the catalogue's
``metric:`` then names the task's metric, and nothing else does (``evaluation.metrics.registry``
maps the name to how it is computed).
"""

from __future__ import annotations

from dataclasses import dataclass

from xtransfer.errors import UserError


@dataclass(frozen=True)
class FormatContract:
    name: str
    extension: str  # of test-<lang>.<ext> in predictions/<task>/ and labels/<task>/
    layout: str  # how those files are read: a key of evaluation.formats' LAYOUT_READERS
    metrics: tuple[str, ...]  # catalogue metrics a task of this format may name; [0] = default


CONTRACTS: dict[str, FormatContract] = {
    contract.name: contract
    for contract in (
        FormatContract("classification", "tsv", "label_lines", ("accuracy",)),
        FormatContract("multiple_choice", "jsonl", "label_records", ("accuracy",)),
        FormatContract("tagging", "tsv", "tag_sentences", ("chunk_f1", "token_accuracy")),
        FormatContract("span_qa", "json", "squad", ("squad_em_f1", "mlqa_em_f1")),
        FormatContract("retrieval", "tsv", "label_lines", ("accuracy",)),
        FormatContract("bitext_mining", "tsv", "id_pairs", ("pair_f1",)),
        FormatContract("dual_encoder_retrieval", "json", "ranked_lists", ("map@20", "mrr@20")),
        # Intermediate-only formats: scored on English dev for model selection, never on
        # test files, so their layouts are not read by the scorer.
        FormatContract("feats_tagging", "tsv", "tag_sentences", ("token_accuracy",)),
        FormatContract("image_text", "tsv", "label_lines", ("recall@1",)),
        FormatContract("mlm", "none", "none", ("none",)),
    )
}


def contract_for(format_name: str) -> FormatContract:
    try:
        return CONTRACTS[format_name]
    except KeyError:
        raise UserError(
            f"task format {format_name!r} is unknown; formats: {', '.join(sorted(CONTRACTS))}"
        ) from None
