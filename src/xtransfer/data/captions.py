"""Reader of local image-caption files: captions in JSONL or TSV, image vectors beside them.

``read_captions(PATH)`` reads ``PATH`` (``.jsonl``, or ``.tsv`` with a header) and, when a file
with the same name and the suffix ``.npy`` or ``.safetensors`` sits next to it, the image
vectors from there (a 2-D float array: one row per image; a ``.safetensors`` file holds exactly
one tensor). A caption row names its image by an ``image_index`` column (row number in the
vector file, several captions may share an image) or, without that column, by its own position
(then the file has exactly one vector per caption). The vector is put in the row's
``image_vector`` column. Without a vector file the rows must carry ``image_vector`` themselves
(a JSON list of floats, or in TSV a string of numbers separated by spaces or commas).

Only arrays are read: ``numpy.load`` with ``allow_pickle=False`` and safetensors, never pickle.
The phase cache identifies local data by the caption file's path, size and modification time:
replace the vector file together with the caption file (or run with ``force=true``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xtransfer.data.readers import read_jsonl, read_tsv
from xtransfer.errors import UserError

VECTOR_SUFFIXES = (".npy", ".safetensors")


def load_vectors(path: Path):
    """A 2-D float32 numpy array from a ``.npy`` or ``.safetensors`` file."""
    import numpy as np

    try:
        if path.suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            from safetensors.numpy import load_file

            tensors = load_file(str(path))
            if len(tensors) != 1:
                raise UserError(
                    f"{path}: expected exactly one tensor of image vectors, found "
                    f"{len(tensors)} ({', '.join(sorted(tensors))})"
                )
            array = next(iter(tensors.values()))
    except UserError:
        raise
    except Exception as err:  # numpy and safetensors raise many types for a corrupt file
        raise UserError(
            f"{path}: not a readable vector file ({type(err).__name__}: {err})"
        ) from None
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise UserError(
            f"{path}: image vectors must be a 2-D numeric array, got shape {array.shape} "
            f"of {array.dtype}"
        )
    return array.astype(np.float32)


def read_captions(path: Path) -> list[dict[str, Any]]:
    path = Path(path)
    if path.suffix == ".jsonl":
        rows = read_jsonl(path)
    elif path.suffix == ".tsv":
        rows = read_tsv(path)
    else:
        raise UserError(f"{path}: caption files are .jsonl or .tsv (with a header row)")
    found = [path.with_suffix(s) for s in VECTOR_SUFFIXES if path.with_suffix(s).is_file()]
    if len(found) > 1:
        raise UserError(f"{path}: both {found[0].name} and {found[1].name} exist; keep one")
    if not found:
        return rows
    vectors = load_vectors(found[0])
    indexed = bool(rows) and all("image_index" in row for row in rows)
    if not indexed and len(vectors) != len(rows):
        raise UserError(
            f"{found[0]}: {len(vectors)} vectors for {len(rows)} captions in {path.name}; "
            "without an image_index column there must be one vector per caption"
        )
    out = []
    for number, row in enumerate(rows, start=1):
        index = number - 1
        if indexed:
            try:
                index = int(row["image_index"])
            except (TypeError, ValueError):
                raise UserError(
                    f"{path}: row {number}: image_index {row['image_index']!r} is not an integer"
                ) from None
            if not 0 <= index < len(vectors):
                raise UserError(
                    f"{path}: row {number}: image_index {index} is outside {found[0].name} "
                    f"({len(vectors)} vectors)"
                )
        out.append({**row, "image_vector": vectors[index].tolist()})
    return out
