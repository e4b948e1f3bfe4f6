"""Writes the embedded synthetic image-caption demo data (deterministic; rerun to regenerate).

    .venv/bin/python scripts/make_demo_captions.py

Output: ``src/xtransfer/assets/demo/xtransfer__synthetic-captions/default/
{train,validation}.jsonl``, one caption per line with its image vector as a float list:
``{"image_id": 17, "caption": "...", "image_vector": [..32 floats..]}`` (the layout the
embedded source reads; ``xtransfer/synthetic-captions`` is not a Hub dataset).

There are no images. Every synthetic "image" is a scene of one object, one place and possibly
a time of day; its vector is the L2-normalised sum of fixed random Gaussian projections of those
concepts (``VECTOR_DIM`` numbers, seeded). Captions are English sentences mentioning exactly
the scene's concepts, in several word orders, so the vector is a learnable function of the
caption, and two captions of one scene share a vector (as COCO's five captions per image do).
The concept words are mostly whole tokens of the tiny tokenizer, so the tiny model can learn
the mapping in a few hundred steps. Validation scenes are drawn from the same space.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np

OUT = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "xtransfer"
    / "assets"
    / "demo"
    / "xtransfer__synthetic-captions"
    / "default"
)
SEED = 20240607
VECTOR_DIM = 32  # = vector_dim in tasks/catalogue/captions.yaml
TRAIN_SCENES, VALIDATION_SCENES = 240, 48
CAPTIONS_PER_SCENE = 2

OBJECTS = ["apples", "books", "bottles", "boxes", "chairs", "cups", "flowers", "letters", "pens",
           "tickets"]  # fmt: skip
PLACES = ["park", "school", "shop", "station", "library", "market", "home"]
TIMES = ["morning", "night", "Monday", "Saturday"]
TEMPLATES_WITH_TIME = [
    "{obj} at the {place} in the {time}",
    "in the {time} there are {obj} at the {place}",
    "the {place} has {obj} this {time}",
    "{obj} seen at the {place} on a {time}",
]
TEMPLATES = [
    "{obj} at the {place}",
    "there are {obj} at the {place}",
    "the {place} has {obj}",
    "a photo of {obj} at the {place}",
]


def concept_vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    names = OBJECTS + PLACES + TIMES
    matrix = rng.standard_normal((len(names), VECTOR_DIM)) / np.sqrt(VECTOR_DIM)
    return dict(zip(names, matrix, strict=True))


def scene_vector(scene: tuple[str, str, str | None], table: dict[str, np.ndarray]) -> list[float]:
    total = sum(table[c] for c in scene if c is not None)
    total = total / np.linalg.norm(total)
    return [round(float(x), 6) for x in total]


def caption(scene: tuple[str, str, str | None], rng: random.Random) -> str:
    obj, place, time = scene
    templates = TEMPLATES_WITH_TIME if time else TEMPLATES
    return rng.choice(templates).format(obj=obj, place=place, time=time)


def main() -> None:
    rng = random.Random(SEED)
    table = concept_vectors()
    scenes = [(o, p, t) for o in OBJECTS for p in PLACES for t in [None, *TIMES]]
    rng.shuffle(scenes)
    chosen = scenes[: TRAIN_SCENES + VALIDATION_SCENES]
    splits = {"train": chosen[:TRAIN_SCENES], "validation": chosen[TRAIN_SCENES:]}
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    image_id = 0
    for split, split_scenes in splits.items():
        lines = []
        for scene in split_scenes:
            vector = scene_vector(scene, table)
            for _ in range(CAPTIONS_PER_SCENE):
                row = {"image_id": image_id, "caption": caption(scene, rng), "image_vector": vector}
                lines.append(json.dumps(row))
            image_id += 1
        (OUT / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {OUT / f'{split}.jsonl'} ({len(lines)} captions, {len(split_scenes)} images)")


if __name__ == "__main__":
    main()
