"""The embedded detection competition: textured shapes on textured backgrounds, deterministic from a seed.

Like the competition podium was designed for, the test images differ from training: they carry rain
streaks, HSV shifts and pixelation that the training images never show, so augmentation measurably matters.

Boxes are COCO `[x, y, w, h]` in pixels of the image they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

# name -> (hue in OpenCV units 0..179, texture). Colour and texture tie to class, as in real data, so an
# HSV shift at test time really hurts a model that never saw one.
CLASSES: dict[str, tuple[int, str]] = {
    "circle": (0, "solid"),
    "square": (110, "stripes"),
    "triangle": (60, "solid"),
    "star": (28, "dots"),
    "cross": (145, "checker"),
}
MIN_VISIBLE = 0.25  # an object less visible than this (occluded or outside the image) gets no annotation


@dataclass(frozen=True)
class SyntheticImage:
    image: np.ndarray  # (H, W, 3) uint8 BGR
    boxes: np.ndarray  # (N, 4) float32 COCO x, y, w, h in pixels
    labels: list[str]
    group: str  # near-duplicate frames of one scene share a group


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(40, 200, size=3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * xx + np.sin(angle) * yy)[..., None] * rng.uniform(-60, 60, size=3)
    cells = int(rng.integers(4, 24))
    blotches = cv2.resize(rng.normal(0, 25, (cells, cells, 3)).astype(np.float32), (size, size))
    grain = rng.normal(0, 8, (size, size, 3))
    return np.clip(base + gradient + blotches + grain, 0, 255).astype(np.float32)


def _shape_mask(name: str, size: int, cx: float, cy: float, r: float, angle: float) -> tuple[np.ndarray, float]:
    """The shape's mask inside the image, and its full area in pixels (also the part outside the image)."""
    mask = np.zeros((size, size), np.uint8)
    scale = 16  # sub-pixel precision for OpenCV drawing (shift=4)
    area = np.pi * r * r

    def poly(points: np.ndarray) -> None:
        nonlocal area
        x, y = points[:, 0], points[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) * r * r  # shoelace
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        pts = (points @ rot.T * r + [cx, cy]) * scale
        cv2.fillPoly(mask, [pts.round().astype(np.int32)], 255, cv2.LINE_AA, shift=4)

    if name == "circle":
        cv2.circle(mask, (round(cx * scale), round(cy * scale)), round(r * scale), 255, -1, cv2.LINE_AA, 4)
    elif name == "square":
        poly(np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 0.8)
    elif name == "triangle":
        t = np.array([np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3])
        poly(np.stack([np.cos(t), np.sin(t)], 1))
    elif name == "star":
        t = np.arange(10) * np.pi / 5
        radius = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        poly(np.stack([np.cos(t) * radius, np.sin(t) * radius], 1))
    elif name == "cross":
        a, b = 1.0, 0.33
        poly(
            np.array(
                [
                    [-b, -a],
                    [b, -a],
                    [b, -b],
                    [a, -b],
                    [a, b],
                    [b, b],
                    [b, a],
                    [-b, a],
                    [-b, b],
                    [-a, b],
                    [-a, -b],
                    [-b, -b],
                ]
            )
        )
    else:
        raise ValueError(f"unknown shape {name!r}; shapes are {list(CLASSES)}")
    return mask, area


def _texture(rng: np.random.Generator, name: str, size: int) -> np.ndarray:
    hue, kind = CLASSES[name]
    hue = (hue + rng.integers(-6, 7)) % 180
    light = np.array([hue, rng.integers(170, 256), rng.integers(170, 256)], np.uint8)
    dark = np.array([hue, rng.integers(150, 256), rng.integers(70, 130)], np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    period = int(rng.integers(4, 9))
    if kind == "solid":
        pattern = np.zeros((size, size), bool)
    elif kind == "stripes":
        pattern = ((xx + yy) // period) % 2 == 0
    elif kind == "dots":
        pattern = ((xx % period) - period / 2) ** 2 + ((yy % period) - period / 2) ** 2 < (period / 3) ** 2
    else:  # checker
        pattern = ((xx // period) + (yy // period)) % 2 == 0
    hsv = np.where(pattern[..., None], dark, light).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).astype(np.float32)


def _scene(rng: np.random.Generator, size: int, max_objects: int, empty_fraction: float) -> list[tuple]:
    n = 0 if rng.random() < empty_fraction else int(rng.integers(1, max_objects + 1))
    names = list(CLASSES)
    objects = []
    for _ in range(n):
        r = size * rng.uniform(0.05, 0.2)
        objects.append(
            (
                names[rng.integers(len(names))],
                rng.uniform(-0.1, 1.1) * size,
                rng.uniform(-0.1, 1.1) * size,
                r,
                rng.uniform(0, 2 * np.pi),
            )
        )
    return objects


def render_scene(rng: np.random.Generator, size: int, objects: list[tuple], group: str) -> SyntheticImage:
    image = _background(rng, size)
    owner = np.full((size, size), -1, np.int32)  # which object each pixel shows (later ones occlude)
    masks, areas = [], []
    for i, (name, cx, cy, r, angle) in enumerate(objects):
        mask, area = _shape_mask(name, size, cx, cy, r, angle)
        alpha = (mask.astype(np.float32) / 255)[..., None]
        shade = rng.uniform(0.75, 1.15)
        image = image * (1 - alpha) + _texture(rng, name, size) * shade * alpha
        owner[mask > 127] = i
        masks.append(mask > 127)
        areas.append(area)
    boxes, labels = [], []
    for i, ((name, *_), mask, area) in enumerate(zip(objects, masks, areas, strict=True)):
        if (owner == i).sum() < MIN_VISIBLE * area:  # mostly hidden behind others or outside the image
            continue
        ys, xs = np.nonzero(mask)  # the box is the shape's full extent inside the image, occluded parts too
        x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        if (x2 - x1) < 3 or (y2 - y1) < 3:
            continue
        boxes.append([x1, y1, x2 - x1, y2 - y1])
        labels.append(name)
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    return SyntheticImage(image, np.array(boxes, np.float32).reshape(-1, 4), labels, group)


def generate_train_images(
    rng: np.random.Generator, count: int, size: int, max_objects: int, empty_fraction: float
) -> list[SyntheticImage]:
    """`count` training images; some scenes come as 2-3 near-duplicate frames sharing a group id."""
    out: list[SyntheticImage] = []
    scene_id = 0
    while len(out) < count:
        objects = _scene(rng, size, max_objects, empty_fraction)
        frames = int(rng.choice([1, 1, 2, 3]))
        for _ in range(min(frames, count - len(out))):
            jitter = [
                (n, cx + rng.normal(0, 3), cy + rng.normal(0, 3), r * rng.uniform(0.95, 1.05), a)
                for n, cx, cy, r, a in objects
            ]
            out.append(render_scene(rng, size, jitter, group=f"scene{scene_id:05d}"))
        scene_id += 1
    return out


def corrupt_test_image(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Rain streaks, HSV shift and pixelation: the test-time conditions the training set lacks."""
    size = image.shape[0]
    out = image.astype(np.float32)
    if rng.random() < 0.7:  # rain: thin bright slanted streaks, then a slight blur and darkening
        streaks = np.zeros(image.shape[:2], np.float32)
        slant = rng.uniform(-0.4, 0.4)
        for _ in range(int(rng.integers(size // 2, size * 2))):
            x, y = rng.uniform(-size * 0.2, size * 1.2), rng.uniform(-size * 0.1, size)
            length = rng.uniform(0.04, 0.12) * size
            cv2.line(
                streaks,
                (int(x), int(y)),
                (int(x + slant * length), int(y + length)),
                float(rng.uniform(0.4, 0.9)),
                1,
                cv2.LINE_AA,
            )
        out = cv2.blur(out * rng.uniform(0.7, 0.9), (3, 3))
        out = out * (1 - streaks[..., None]) + 220 * streaks[..., None]
    if rng.random() < 0.7:  # HSV shift
        hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.integers(-10, 11)) % 180
        hsv[..., 1] *= rng.uniform(0.6, 1.3)
        hsv[..., 2] *= rng.uniform(0.6, 1.2)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    if rng.random() < 0.5:  # pixelation
        factor = int(rng.integers(2, 5))
        small = cv2.resize(out, (size // factor, size // factor), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (size, size), interpolation=cv2.INTER_NEAREST)
    return np.clip(out, 0, 255).astype(np.uint8)


def generate_test_images(
    rng: np.random.Generator, count: int, size: int, max_objects: int, empty_fraction: float
) -> list[SyntheticImage]:
    out = []
    for i in range(count):
        img = render_scene(rng, size, _scene(rng, size, max_objects, empty_fraction), group=f"test{i:05d}")
        out.append(SyntheticImage(corrupt_test_image(rng, img.image), img.boxes, img.labels, img.group))
    return out


def to_coco(images: list[SyntheticImage], file_names: list[str]) -> dict:
    """COCO dict for `images` saved as `file_names`; each image also carries its `group`."""
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)]
    cat_id = {c["name"]: c["id"] for c in categories}
    coco_images, annotations = [], []
    for image_id, (img, file_name) in enumerate(zip(images, file_names, strict=True), start=1):
        h, w = img.image.shape[:2]
        coco_images.append({"id": image_id, "file_name": file_name, "width": w, "height": h, "group": img.group})
        for box, label in zip(img.boxes.tolist(), img.labels, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": cat_id[label],
                    "bbox": [round(v, 2) for v in box],
                    "area": round(box[2] * box[3], 2),
                    "iscrowd": 0,
                }
            )
    return {"images": coco_images, "annotations": annotations, "categories": categories}


def write_images(images: list[SyntheticImage], folder: Path, prefix: str) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, img in enumerate(images):
        name = f"{prefix}_{i:05d}.png"
        if not cv2.imwrite(str(folder / name), img.image):
            raise OSError(f"could not write {folder / name}")
        names.append(name)
    return names
