"""A disk cache of featurised (tokenised) data, so a second run skips tokenisation.

The key is explicit, never ``datasets``' fingerprinting (which hashes tokenizers unreliably):

* the tokenizer: its class and a SHA-256 of its full serialisation (``tokenizer.json`` of a fast
  tokenizer: vocabulary, merges, normaliser, pre-tokeniser, post-processor, special tokens);
* ``max_length`` and the format's featurisation settings (QA doc stride and query length);
* the format's name and ``version`` (bumped whenever featurisation changes);
* the task definition (labels, columns, templates: what featurisation reads from it);
* the data: a SHA-256 of the rows themselves, so any change of file, filter or cap is a new key.

Entries are stored without pickle: integer columns (``input_ids``, labels, offsets, ...) as
safetensors, anything else as JSON. A missing, partial or corrupt entry is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bumped when the on-disk layout below changes
TENSORS, META = "features.safetensors", "meta.json"
# Per-format featurisation settings that are attributes, not arguments, of ``featurize``.
SETTING_ATTRS = ("doc_stride", "max_query_length")


def tokenizer_fingerprint(tokenizer) -> str:
    """SHA-256 of the tokenizer's class and complete serialisation (memoised on the object)."""
    cached = getattr(tokenizer, "_xtransfer_fingerprint", None)
    if cached:
        return cached
    digest = hashlib.sha256(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        digest.update(backend.to_str().encode())
    else:  # slow tokenizers: the vocabulary is what they are
        vocab = sorted(tokenizer.get_vocab().items())
        digest.update(json.dumps(vocab, ensure_ascii=False).encode())
    extra = {
        "special": {k: str(v) for k, v in (tokenizer.special_tokens_map or {}).items()},
        "padding_side": getattr(tokenizer, "padding_side", None),
        "truncation_side": getattr(tokenizer, "truncation_side", None),
    }
    digest.update(json.dumps(extra, sort_keys=True).encode())
    fingerprint = digest.hexdigest()
    try:
        tokenizer._xtransfer_fingerprint = fingerprint
    except AttributeError:  # objects that refuse new attributes are simply re-hashed
        pass
    return fingerprint


def rows_digest(rows: Sequence[dict]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def feature_key(fmt, rows: Sequence[dict], tokenizer, max_length: int) -> str:
    task = {k: v for k, v in fmt.task.raw.items() if k not in ("splits", "_file")}
    parts = {
        "cache_format": CACHE_FORMAT,
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "max_length": int(max_length),
        "format": {"name": fmt.name, "version": fmt.version},
        "settings": {a: getattr(fmt, a) for a in SETTING_ATTRS if hasattr(fmt, a)},
        "task": task,
        "rows": rows_digest(rows),
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


# ---------------------------------------------------------------- encoding without pickle


def _int_array(value: Any) -> np.ndarray | None:
    """``value`` as an integer array, or None when it is not a rectangular integer value."""
    if isinstance(value, bool):
        return None
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind in "iu" else None
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        return None
    if arr.size == 0:
        return arr.astype(np.int64)
    return arr.astype(np.int64) if arr.dtype.kind in "iu" else None


def _encode_column(values: list[Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """Spec and tensors of one integer column, or None when it must go to JSON."""
    arrays = [_int_array(v) for v in values]
    if any(a is None for a in arrays):
        return None
    ndims = {a.ndim for a in arrays}
    if len(ndims) != 1:
        return None
    kinds = {
        "ndarray" if isinstance(v, np.ndarray) else "int" if a.ndim == 0 else "list"
        for v, a in zip(values, arrays, strict=True)
    }
    if len(kinds) != 1:
        return None
    kind, ndim = kinds.pop(), ndims.pop()
    dtypes = {a.dtype.str for a in arrays}
    dtype = dtypes.pop() if kind == "ndarray" and len(dtypes) == 1 else "<i8"
    flat = (
        np.concatenate([a.reshape(-1) for a in arrays]).astype(dtype)
        if arrays
        else np.zeros(0, dtype=dtype)
    )
    shapes = np.asarray([a.shape for a in arrays], dtype=np.int64).reshape(len(arrays), ndim)
    spec = {"kind": kind, "ndim": ndim, "dtype": dtype}
    return spec, {"data": np.ascontiguousarray(flat), "shapes": shapes}


def _decode_column(spec: dict[str, Any], data: np.ndarray, shapes: np.ndarray) -> list[Any]:
    kind = spec["kind"]
    if kind == "int":
        return data.tolist()
    sizes = np.prod(shapes, axis=1, dtype=np.int64) if shapes.shape[1] else np.ones(len(shapes))
    ends = np.cumsum(sizes)
    if len(ends) and int(ends[-1]) != len(data):
        raise ValueError("feature cache: column sizes do not add up")
    out: list[Any] = []
    start = 0
    for shape, end in zip(shapes, ends, strict=True):
        part = data[start : int(end)].reshape(tuple(int(s) for s in shape))
        out.append(part if kind == "ndarray" else part.tolist())
        start = int(end)
    return out


def _save(entry: Path, features: list[dict], key_info: dict[str, Any]) -> None:
    from safetensors.numpy import save_file

    keys = list(features[0]) if features else []
    if any(list(f) != keys for f in features):
        columns: dict[str, Any] = {}
        tensors: dict[str, np.ndarray] = {}
        json_rows = features
    else:
        columns, tensors, json_rows = {}, {}, None
        for key in keys:
            encoded = _encode_column([f[key] for f in features])
            if encoded is None:
                columns[key] = {"kind": "json", "values": [f[key] for f in features]}
            else:
                spec, arrays = encoded
                columns[key] = spec
                tensors[f"{key}.data"] = arrays["data"]
                tensors[f"{key}.shapes"] = arrays["shapes"]
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".partial-{entry.name}-", dir=entry.parent))
    try:
        save_file(tensors or {"_empty": np.zeros(0, dtype=np.int64)}, str(tmp / TENSORS))
        meta = {
            "n": len(features),
            "keys": keys,
            "columns": columns,
            "rows": json_rows,
            "key": key_info,
        }
        (tmp / META).write_text(json.dumps(meta, default=_json_default), encoding="utf-8")
        if entry.exists():  # a stale or corrupt entry: replaced, never merged
            shutil.rmtree(entry, ignore_errors=True)
        os.replace(tmp, entry)
    except OSError:
        # Another process may have written the same entry a moment ago; either copy is valid.
        shutil.rmtree(tmp, ignore_errors=True)
        if not (entry / META).is_file():
            raise


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"feature value of type {type(value).__name__} cannot be cached")


def _load(entry: Path) -> list[dict]:
    from safetensors.numpy import load_file

    meta = json.loads((entry / META).read_text(encoding="utf-8"))
    if meta.get("rows") is not None:
        return meta["rows"]
    tensors = load_file(str(entry / TENSORS))
    n, columns = int(meta["n"]), meta["columns"]
    decoded: dict[str, list[Any]] = {}
    for key in meta["keys"]:
        spec = columns[key]
        if spec["kind"] == "json":
            values = spec["values"]
        else:
            values = _decode_column(spec, tensors[f"{key}.data"], tensors[f"{key}.shapes"])
        if len(values) != n:
            raise ValueError(f"feature cache: column {key} has {len(values)} of {n} values")
        decoded[key] = values
    return [{key: decoded[key][i] for key in meta["keys"]} for i in range(n)]


def featurize_cached(
    fmt, rows: Sequence[dict], tokenizer, max_length: int, cache_dir: Path | None
) -> list[dict]:
    """``fmt.featurize(rows, tokenizer, max_length)``, from the cache under ``cache_dir`` when
    an entry with the same key exists (``cache_dir=None``: no cache)."""
    if cache_dir is None or not rows:
        return fmt.featurize(rows, tokenizer, max_length)
    key = feature_key(fmt, rows, tokenizer, max_length)
    entry = Path(cache_dir) / key[:2] / key
    if (entry / META).is_file():
        try:
            return _load(entry)
        except Exception as err:  # any damage (truncated file, bad JSON, ...): recompute
            log.warning("feature cache entry %s is unreadable (%s); recomputing", entry, err)
    features = fmt.featurize(rows, tokenizer, max_length)
    info = {"task": fmt.task.name, "format": fmt.name, "rows": len(rows), "max_length": max_length}
    try:
        _save(entry, features, info)
    except (OSError, TypeError) as err:  # a cache that cannot be written must not stop a run
        log.warning("could not cache features in %s (%s)", entry, err)
    return features
