"""Reader of SQuAD-format JSON files (SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP).

Every file of the QA family in the XTREME download layout and in the original releases has the
nesting ``{"data": [article, ...]}`` (XTREME's own rewrites also accept a bare list of articles),
article = ``{"title"?, "paragraphs": [{"context", "qas": [{"id", "question", "answers",
"is_impossible"?}]}]}``. Rows come back in the Hub schema of ``google/xtreme`` and
``rajpurkar/squad``, so one catalogue entry serves the Hub, the XTREME folder and local files:
``{id, title, context, question, answers: {text: [...], answer_start: [...]}}``.

Unanswerable questions (SQuAD v2 ``is_impossible``) get empty answer lists, as on the Hub. The
placeholder answers that XTREME's ``download_data.sh`` leaves in label-stripped test files
(``{"text": "", "answer_start": 0}``) are not answers either and are dropped the same way, so
that no one ever scores against an empty gold string.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: tolerate a BOM from Windows tools
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(
            f"{path}: malformed JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None


def _answers(path: Path, qid: str, qa: dict[str, Any]) -> dict[str, list]:
    raw = qa.get("answers", [])
    if not isinstance(raw, list):
        raise UserError(f"{path}: question {qid!r}: 'answers' is not a list")
    texts: list[str] = []
    starts: list[int] = []
    if qa.get("is_impossible"):
        return {"text": texts, "answer_start": starts}
    for answer in raw:
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            raise UserError(f"{path}: question {qid!r}: an answer has no 'text' string")
        if answer["text"] == "":  # XTREME's placeholder in answer-stripped test files
            continue
        start = answer.get("answer_start")
        if isinstance(start, bool) or not isinstance(start, int | str):
            raise UserError(f"{path}: question {qid!r}: answer_start {start!r} is not an integer")
        try:
            starts.append(int(start))
        except ValueError:
            raise UserError(
                f"{path}: question {qid!r}: answer_start {start!r} is not an integer"
            ) from None
        texts.append(answer["text"])
    return {"text": texts, "answer_start": starts}


def read_squad_json(path: Path) -> list[dict[str, Any]]:
    """All questions of a SQuAD-format file, one Hub-schema row each, in file order."""
    path = Path(path)
    document = _load(path)
    articles = document.get("data") if isinstance(document, dict) else document
    if not isinstance(articles, list):
        raise UserError(f"{path}: not SQuAD format (expected {{'data': [...]}} or a list)")
    rows: list[dict[str, Any]] = []
    for a_no, article in enumerate(articles, start=1):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise UserError(f"{path}: article {a_no} has no 'paragraphs' list")
        title = article.get("title") or ""  # MLQA and XTREME's rewrites have no title
        for paragraph in paragraphs:
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                raise UserError(f"{path}: a paragraph of article {a_no} has no 'context' string")
            qas = paragraph.get("qas")
            if not isinstance(qas, list):
                raise UserError(f"{path}: a paragraph of article {a_no} has no 'qas' list")
            for qa in qas:
                if not isinstance(qa, dict) or "id" not in qa:
                    raise UserError(f"{path}: a question of article {a_no} has no 'id'")
                qid = str(qa["id"])
                if not isinstance(qa.get("question"), str):
                    raise UserError(f"{path}: question {qid!r} has no 'question' string")
                rows.append(
                    {
                        "id": qid,
                        "title": str(title),
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": _answers(path, qid, qa),
                    }
                )
    return rows
