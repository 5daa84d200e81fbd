"""Adapters: a competition's own files, as `kaggle competitions download` writes them (zip, unpacked), into
podium's canonical layout (podium.data.layout). `download.layout` names one; `podium` means the files are in
podium's layout already.

- `global-wheat-detection`: `train.csv` (image_id,width,height,bbox,source; `bbox` the string "[x, y, w, h]",
  one row per box; a train image without rows has no wheat), `train/*.jpg`, `test/*.jpg`,
  `sample_submission.csv` (the competition's Data page). One class, `wheat`; each image keeps its `source`
  (the site and session it was photographed in) as `domain`, which split_folds stratifies by.

- `tensorflow-speech-recognition-challenge`: `train.7z` and `test.7z` (7-Zip archives inside the download; or their
  unpacked `train/`, `test/` folders): `train/audio/<word>/<speaker>_nohash_<n>.wav` for 30 words,
  `train/audio/_background_noise_/*.wav` (long clips), `validation_list.txt` / `testing_list.txt` (the dataset's own
  split, lines like `right/a69b9b3e_nohash_0.wav`), `test/audio/clip_*.wav`, `sample_submission.7z` (as Kaggle ships
  it, holding `sample_submission.csv`, `fname,label`; or that CSV unpacked). The 12 submission labels: the ten
  commands, `unknown` (every other word; a deterministic `download.unknown_fraction` of them, since they outnumber
  each command about 20 to 1) and `silence` (1 s cuts of the background-noise clips, `download.silence_fraction` of
  the training set; they also go to `audio/noise` for the noise augmentation). Each clip keeps its speaker (folds
  group by it) and, in `official_split`, the dataset's own train/validation/testing assignment.

- `vinbigdata-chest-xray-abnormalities-detection`: `train.csv` (image_id,class_name,class_id,rad_id,x_min,y_min,
  x_max,y_max; one row per radiologist finding; class 14 "No finding" with empty boxes), `train/<id>.dicom`,
  `test/<id>.dicom`, `sample_submission.csv`. DICOMs are read with pydicom: modality LUT, then VOI LUT /
  windowing, MONOCHROME1 inverted, min-max to 8 bits, resized so the longer side is `download.image_size`,
  saved as PNG; boxes scaled alike. Each image's radiologists' boxes are fused with WBF
  (`download.fuse_radiologists`, `download.fuse_iou_thr`), as the competition's winners did; the classes are
  the 15 class ids in order (No finding has no box to learn). `detection/test/original_sizes.csv` keeps each
  test image's DICOM size: `submit` maps boxes back to it.

A row the adapter cannot read (an unparseable box) is kept as a box of NaNs, so merge_external reports that
image as a bad sample, as it does for any other source; a missing file or column is a LayoutError naming it.
"""

from __future__ import annotations

import csv
import shutil
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from podium.clips import load_clip, write_clip
from podium.data.bbox import parse_bbox
from podium.data.external import (
    BadSample,
    DetectionSample,
    read_audio_csv,
    read_audio_folders,
    read_coco,
    read_yolo,
)
from podium.data.layout import AUDIO_SUFFIXES, IMAGE_SUFFIXES, LayoutError
from podium.files import write_json
from podium.progress import bar
from podium.settings import GenericLayout

NAN_BOX = [float("nan")] * 4


def _need(root: Path, names: list[str], competition: str) -> None:
    if missing := [n for n in names if not (root / n).exists()]:
        raise LayoutError(
            f"{root}: missing {missing}; {competition}'s download has {names} (download.layout: {competition}); "
            "set download.layout: podium for data already in podium's layout"
        )


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def global_wheat(root: Path, out: Path, tasks: tuple[str, ...], **_) -> list[str]:
    """Global Wheat Detection's files under `root` into `out`/detection (podium's layout)."""
    if tasks != ("detection",):
        raise LayoutError(f"global-wheat-detection has one task, detection; params competition.tasks has {tasks}")
    _need(root, ["train.csv", "train", "test", "sample_submission.csv"], "global-wheat-detection")
    det = out / "detection"
    boxes: dict[str, list] = {}
    sizes: dict[str, tuple[int, int]] = {}
    domains: dict[str, str] = {}
    with open(root / "train.csv", newline="") as f:
        reader = csv.DictReader(f)
        if missing := sorted({"image_id", "width", "height", "bbox", "source"} - set(reader.fieldnames or [])):
            raise LayoutError(f"{root / 'train.csv'}: no column(s) {missing}; Global Wheat's train.csv has "
                              "image_id,width,height,bbox,source")  # fmt: skip
        for row in reader:
            image_id = row["image_id"]
            boxes.setdefault(image_id, []).append(parse_bbox(row["bbox"]) or NAN_BOX)
            domains[image_id] = row["source"]
            try:
                sizes[image_id] = (int(float(row["width"])), int(float(row["height"])))
            except ValueError:
                pass  # read from the image header below
    images, annotations = [], []
    (det / "train/images").mkdir(parents=True)
    for path in _images(root / "train"):
        image_id = path.stem
        if image_id not in sizes:
            with Image.open(path) as im:
                sizes[image_id] = im.size
        shutil.copy2(path, det / "train/images" / path.name)
        record = {"id": len(images) + 1, "file_name": path.name, "width": sizes[image_id][0],
                  "height": sizes[image_id][1]}  # fmt: skip
        if image_id in domains:
            record["domain"] = domains[image_id]
        images.append(record)
        for box in boxes.pop(image_id, []):
            annotations.append({"image_id": record["id"], "category_id": 1, "bbox": box})
    if boxes:
        raise LayoutError(
            f"{root / 'train.csv'}: boxes for {len(boxes)} image(s) that train/ does not have, e.g. {sorted(boxes)[:3]}"
        )
    write_json(
        det / "train/annotations.json",
        {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "wheat"}]},
    )
    (det / "test/images").mkdir(parents=True)
    for path in _images(root / "test"):
        shutil.copy2(path, det / "test/images" / path.name)
    shutil.copy2(root / "sample_submission.csv", det / "sample_submission.csv")
    return ["detection"]


SPEECH_COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
NOISE = "_background_noise_"


def _unpack_7z(root: Path, name: str, staging: Path) -> Path:
    """`root/name` (a folder) or `root/name.7z` unpacked into `staging`: the folder to read."""
    if (root / name).is_dir():
        return root / name
    archive = root / f"{name}.7z"
    import py7zr

    try:
        with py7zr.SevenZipFile(archive, "r") as z:
            z.extractall(staging)
    except (py7zr.Bad7zFile, OSError) as e:
        raise LayoutError(f"{archive}: not a readable 7-Zip archive ({e}); download it again") from None
    if not (staging / name).is_dir():
        raise LayoutError(f"{archive}: no {name}/ folder inside")
    return staging / name


# the competition's Data page lists: link_to_gcp_credits_form.txt, sample_submission.7z, test.7z, train.7z
SPEECH_FILES = ("link_to_gcp_credits_form.txt", "sample_submission.7z", "test.7z", "train.7z")


def _speech_sample(root: Path, staging: Path) -> Path:
    """The speech challenge's sample submission: `root/sample_submission.csv`, or the one inside
    `root/sample_submission.7z` (as Kaggle ships it) unpacked into `staging`."""
    if (root / "sample_submission.csv").is_file():
        return root / "sample_submission.csv"
    archive = root / "sample_submission.7z"
    if not archive.is_file():
        raise LayoutError(
            f"{root}: no sample_submission.7z (nor sample_submission.csv); the speech challenge's download holds "
            f"{', '.join(SPEECH_FILES)}: download it whole (kaggle competitions download "
            "tensorflow-speech-recognition-challenge)"
        )
    import py7zr

    try:
        with py7zr.SevenZipFile(archive, "r") as z:
            z.extract(staging, targets=["sample_submission.csv"])
    except (py7zr.Bad7zFile, OSError) as e:
        raise LayoutError(f"{archive}: not a readable 7-Zip archive ({e}); download it again") from None
    if not (staging / "sample_submission.csv").is_file():
        raise LayoutError(f"{archive}: no sample_submission.csv inside")
    return staging / "sample_submission.csv"


def _keep(name: str, fraction: float, seed: int) -> bool:
    """A fixed `fraction` of names, the same whatever else changes (a hash of seed and name)."""
    return (zlib.crc32(f"{seed}:{name}".encode()) % 1_000_000) < fraction * 1_000_000


def speech_challenge(
    root: Path, out: Path, tasks: tuple[str, ...], *, unknown_fraction: float, silence_fraction: float, seed: int,
    sample_rate: int, clip_seconds: float, **_,
) -> list[str]:  # fmt: skip
    """The TensorFlow Speech Recognition Challenge's files under `root` into `out`/audio (podium's layout)."""
    if tasks != ("audio",):
        raise LayoutError(f"the speech challenge has one task, audio; params competition.tasks has {tasks}")
    name = "tensorflow-speech-recognition-challenge"
    if missing := [n for n in ("train", "test") if not (root / n).is_dir() and not (root / f"{n}.7z").is_file()]:
        raise LayoutError(
            f"{root}: no {' nor '.join(f'{n}.7z' for n in missing)}; the speech challenge's download holds "
            f"{', '.join(SPEECH_FILES)} (download.layout: {name})"
        )
    audio, staging = out / "audio", out / ".speech"
    sample = _speech_sample(root, staging)
    train = _unpack_7z(root, "train", staging)
    words = train / "audio"
    if not words.is_dir():
        raise LayoutError(f"{train}: no audio/ folder of word folders")
    official = {}
    for split in ("validation", "testing"):
        listing = next((p for p in (train / f"{split}_list.txt", root / f"{split}_list.txt") if p.exists()), None)
        for line in listing.read_text().split() if listing else []:
            official[line.strip()] = split
    (audio / "train/clips").mkdir(parents=True)
    rows = []
    folders = sorted(p for p in words.iterdir() if p.is_dir() and p.name != NOISE)
    for folder in bar(folders, desc="arranging words", unit="word"):
        word = folder.name
        label = word if word in SPEECH_COMMANDS else "unknown"
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
            if label == "unknown" and not _keep(f"{word}/{path.name}", unknown_fraction, seed):
                continue
            speaker = path.stem.split("_nohash_")[0] if "_nohash_" in path.stem else f"{word}/{path.stem}"
            fname = f"{word}__{path.name}"
            shutil.copy2(path, audio / "train/clips" / fname)
            rows.append((fname, label, speaker, official.get(f"{word}/{path.name}", "train")))
    noise = sorted(p for p in (words / NOISE).iterdir() if p.suffix.lower() in AUDIO_SUFFIXES) if (
        words / NOISE).is_dir() else []  # fmt: skip
    # silence as `silence_fraction` of the whole training set: n / (words + n) = fraction
    silence_clips = round(len(rows) * silence_fraction / (1 - silence_fraction))
    if silence_clips and not noise:
        raise LayoutError(f"{words / NOISE}: no background-noise clips to cut `silence` from")
    (audio / "noise").mkdir(parents=True)
    length = round(sample_rate * clip_seconds)
    clips = [(p, load_clip(p, sample_rate)[0]) for p in noise]
    for p, _ in clips:
        shutil.copy2(p, audio / "noise" / p.name)
    for k in range(silence_clips):  # round robin over the noise files, evenly spaced cuts in each
        path, wave = clips[k % len(clips)]
        cuts = -(-silence_clips // len(clips))
        start = int((len(wave) - length) * ((k // len(clips)) + 0.5) / cuts) if len(wave) > length else 0
        fname = f"silence__{path.stem}_{k:05d}.wav"
        write_clip(audio / "train/clips" / fname, wave[start : start + length], sample_rate)
        rows.append((fname, "silence", f"noise/{path.stem}", "train"))
    with open(audio / "train/labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["fname", "label", "speaker", "official_split"])
        writer.writerows(rows)
    test = _unpack_7z(root, "test", staging)
    test_audio = test / "audio" if (test / "audio").is_dir() else test
    (audio / "test/clips").mkdir(parents=True)
    for path in bar(sorted(test_audio.glob("*.wav")), desc="arranging test clips", unit="clip"):
        shutil.copy2(path, audio / "test/clips" / path.name)
    shutil.copy2(sample, audio / "sample_submission.csv")
    shutil.rmtree(staging, ignore_errors=True)
    return ["audio"]


VINBIG_CLASSES = (
    "Aortic enlargement",
    "Atelectasis",
    "Calcification",
    "Cardiomegaly",
    "Consolidation",
    "ILD",
    "Infiltration",
    "Lung Opacity",
    "Nodule/Mass",
    "Other lesion",
    "Pleural effusion",
    "Pleural thickening",
    "Pneumothorax",
    "Pulmonary fibrosis",
    "No finding",
)  # fmt: skip  (class_id 0..14, the competition's Data page)


def read_dicom(path: Path) -> np.ndarray:
    """A radiograph as uint8 for display: modality LUT, VOI LUT or windowing, MONOCHROME1 inverted, min-max."""
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        ds = pydicom.dcmread(path)
        data = apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds).astype(np.float64)
    except Exception as e:  # pydicom raises many types; a compressed file may need a pixel-data plugin
        raise LayoutError(
            f"{path}: not a readable DICOM image ({type(e).__name__}: {e}); a compressed transfer syntax needs "
            "pylibjpeg (pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg)"
        ) from None
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        data = data.max() - data
    data -= data.min()
    return (data / data.max() * 255 if data.max() > 0 else data).astype(np.uint8)


def _radiograph(path: Path, out: Path, image_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The DICOM at `path` as a PNG at `out`, longer side `image_size`; (original (w, h), saved (w, h))."""
    pixels = read_dicom(path)
    h, w = pixels.shape[:2]
    scale = image_size / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    Image.fromarray(pixels).resize(size, Image.BILINEAR).save(out)
    return (w, h), size


def vinbigdata(
    root: Path, out: Path, tasks: tuple[str, ...], *, image_size: int, fuse_radiologists: bool,
    fuse_iou_thr: float, **_,
) -> list[str]:  # fmt: skip
    """VinBigData Chest X-ray's files under `root` into `out`/detection (podium's layout)."""
    from podium.ensemble.fusion import weighted_boxes_fusion

    name = "vinbigdata-chest-xray-abnormalities-detection"
    if tasks != ("detection",):
        raise LayoutError(f"{name} has one task, detection; params competition.tasks has {tasks}")
    _need(root, ["train.csv", "train", "test", "sample_submission.csv"], name)
    columns = {"image_id", "class_name", "class_id", "rad_id", "x_min", "y_min", "x_max", "y_max"}
    findings: dict[str, list[tuple[str, int, list]]] = {}
    with open(root / "train.csv", newline="") as f:
        reader = csv.DictReader(f)
        if missing := sorted(columns - set(reader.fieldnames or [])):
            raise LayoutError(
                f"{root / 'train.csv'}: no column(s) {missing}; VinBigData's train.csv has {sorted(columns)}"
            )
        for row in reader:
            rows = findings.setdefault(row["image_id"], [])
            if int(row["class_id"]) == 14:  # No finding: no box
                continue
            try:
                box = [float(row[k]) for k in ("x_min", "y_min", "x_max", "y_max")]
            except ValueError:
                box = NAN_BOX
            rows.append((row["rad_id"], int(row["class_id"]), box))
    det = out / "detection"
    (det / "train/images").mkdir(parents=True)
    images, annotations = [], []
    paths = sorted(p for p in (root / "train").iterdir() if p.suffix.lower() in (".dicom", ".dcm"))
    for path in bar(paths, desc="reading train DICOMs", unit="img"):
        (w, h), (sw, sh) = _radiograph(path, det / "train/images" / f"{path.stem}.png", image_size)
        record = {"id": len(images) + 1, "file_name": f"{path.stem}.png", "width": sw, "height": sh}
        images.append(record)
        rows = findings.pop(path.stem, [])
        scale = np.array([sw / w, sh / h, sw / w, sh / h])
        if fuse_radiologists and rows and all(np.isfinite(b).all() for _, _, b in rows):
            readers = sorted({r for r, _, _ in rows})
            norm = np.array([sw, sh, sw, sh], np.float64)
            sets = [[np.array(b) * scale / norm for r, _, b in rows if r == rad] for rad in readers]
            labels = [[c for r, c, _ in rows if r == rad] for rad in readers]
            fused, _, fused_labels = weighted_boxes_fusion(
                [np.array(s).reshape(-1, 4) for s in sets], [np.ones(len(s)) for s in sets],
                [np.array(lab) for lab in labels], iou_thr=fuse_iou_thr, skip_box_thr=0.0,
            )  # fmt: skip
            boxes = [(int(c), list(b * norm)) for b, c in zip(fused, fused_labels, strict=True)]
        else:
            boxes = [(c, list(np.array(b) * scale)) for _, c, b in rows]
        for c, (x1, y1, x2, y2) in boxes:
            annotations.append({"image_id": record["id"], "category_id": c + 1, "bbox": [x1, y1, x2 - x1, y2 - y1]})
    if findings:
        raise LayoutError(
            f"{root / 'train.csv'}: rows for {len(findings)} image(s) that train/ does not have, e.g. "
            f"{sorted(findings)[:3]}"
        )
    write_json(
        det / "train/annotations.json",
        {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": k + 1, "name": n} for k, n in enumerate(VINBIG_CLASSES)],
        },
    )
    (det / "test/images").mkdir(parents=True)
    sizes = []
    tests = sorted(p for p in (root / "test").iterdir() if p.suffix.lower() in (".dicom", ".dcm"))
    for path in bar(tests, desc="reading test DICOMs", unit="img"):
        (w, h), _ = _radiograph(path, det / "test/images" / f"{path.stem}.png", image_size)
        sizes.append((path.stem, w, h))
    with open(det / "test/original_sizes.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_id", "width", "height"])
        writer.writerows(sizes)
    shutil.copy2(root / "sample_submission.csv", det / "sample_submission.csv")
    return ["detection"]


def read_table_csv(
    csv_path: Path, images: Path, *, image_column: str, class_column: str, box_columns: list[str], box: str,
    image_suffix: str, one_class: str,
) -> Iterable[DetectionSample | BadSample]:  # fmt: skip
    """One row per box, columns named in params: the image (a file name, or an id to which `image_suffix` is
    added), the class (or none: every box is `one_class`), the box as one `"[a, b, c, d]"` column or four,
    `box` xyxy or xywh pixels. Images of the folder without rows have no objects."""
    rows: dict[str, list[dict]] = {}
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        wanted = [image_column, *box_columns, *([class_column] if class_column else [])]
        if missing := [c for c in wanted if c not in (reader.fieldnames or [])]:
            raise LayoutError(f"{csv_path}: no column(s) {missing} (download.generic.detection); it has "
                              f"{reader.fieldnames}")  # fmt: skip
        for row in reader:
            name = row[image_column] if Path(row[image_column]).suffix else row[image_column] + image_suffix
            rows.setdefault(name, []).append(row)
    files = {p.name: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    for name in sorted(set(rows) | set(files)):
        if name not in files:
            yield BadSample("competition", name, f"listed in {csv_path.name} but no image in {images}")
            continue
        boxes, labels, problems = [], [], []
        for row in rows.get(name, []):
            values = (
                parse_bbox(row[box_columns[0]]) if len(box_columns) == 1 else _floats([row[c] for c in box_columns])
            )
            if values is None:
                problems.append(f"unparsable box {[row[c] for c in box_columns]}")
                continue
            a, b, c, d = values
            boxes.append([a, b, c - a, d - b] if box == "xyxy" else [a, b, c, d])
            labels.append(row[class_column] if class_column else one_class)
        if problems:
            yield BadSample("competition", name, "; ".join(problems))
            continue
        yield DetectionSample(files[name], boxes, labels, "competition", Path(name).stem)


def _floats(values: list[str]) -> list[float] | None:
    try:
        out = [float(v) for v in values]
    except ValueError:
        return None
    return out if all(np.isfinite(out)) else None


def generic(
    root: Path, out: Path, tasks: tuple[str, ...], *, generic: GenericLayout, classes: list[str],
    labels: list[str], **_,
) -> list[str]:  # fmt: skip
    """Any competition whose files params describe (download.generic): training annotations as COCO, a CSV
    with named columns, or YOLO txt; audio as label folders or a CSV. Samples its readers reject are left out
    and listed in `<task>/bad_samples.json` (and printed); merge_external then checks the rest as usual."""
    for task in tasks:
        spec = getattr(generic, task)
        wanted = ([spec.annotations, spec.images, spec.test_images] if task == "detection"
                  else [spec.path, spec.test_clips]) + [spec.sample_submission]  # fmt: skip
        _need(root, wanted, "generic")
        folder = out / task
        bad = []
        if task == "detection":
            if spec.format == "csv":
                samples = read_table_csv(
                    root / spec.annotations, root / spec.images, image_column=spec.image_column,
                    class_column=spec.class_column, box_columns=spec.box_columns, box=spec.box,
                    image_suffix=spec.image_suffix, one_class=classes[0],
                )  # fmt: skip
            elif spec.format == "coco":
                samples = read_coco(root / spec.annotations, root / spec.images, "competition", None)
            else:  # yolo: class index -> the declared class of that index
                samples = read_yolo(root / spec.annotations, root / spec.images, "competition",
                                    {str(k): c for k, c in enumerate(classes)})  # fmt: skip
            (folder / "train/images").mkdir(parents=True)
            kept = []
            for sample in samples:
                (bad if isinstance(sample, BadSample) else kept).append(sample)
            # the declared classes first, in order; any other label too, so merge_external reports it
            names = list(classes) + sorted({lab for x in kept for lab in x.labels} - set(classes))
            cat = {c: k + 1 for k, c in enumerate(names)}
            images, annotations = [], []
            for sample in kept:
                shutil.copy2(sample.path, folder / "train/images" / sample.path.name)
                if sample.size is None:
                    with Image.open(sample.path) as im:
                        sample.size = im.size
                record = {"id": len(images) + 1, "file_name": sample.path.name}
                record["width"], record["height"] = sample.size
                images.append(record)
                for b, label in zip(sample.boxes, sample.labels, strict=True):
                    annotations.append({"image_id": record["id"], "category_id": cat[label], "bbox": b})
            write_json(
                folder / "train/annotations.json",
                {
                    "images": images,
                    "annotations": annotations,
                    "categories": [{"id": i, "name": n} for n, i in cat.items()],
                },
            )
            shutil.copytree(root / spec.test_images, folder / "test/images")
        else:
            if spec.format == "folders":
                samples = read_audio_folders(root / spec.path, "competition", {d.name: d.name for d in
                                             (root / spec.path).iterdir() if d.is_dir()})  # fmt: skip
            else:
                samples = read_audio_csv(root / spec.path, "competition", None, "path", root / spec.clips)
            (folder / "train/clips").mkdir(parents=True)
            with open(folder / "train/labels.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["fname", "label", "speaker"])
                for k, sample in enumerate(samples):
                    fname = f"{k:06d}__{sample.path.name}"
                    shutil.copy2(sample.path, folder / "train/clips" / fname)
                    writer.writerow([fname, sample.label, sample.group])
            shutil.copytree(root / spec.test_clips, folder / "test/clips")
        shutil.copy2(root / spec.sample_submission, folder / "sample_submission.csv")
        if bad:
            write_json(folder / "bad_samples.json", [b.__dict__ for b in bad])
            for b in bad:
                print(f"bad sample: {b.file}: {b.reason} (left out; {folder / 'bad_samples.json'})")
    return list(tasks)


# Each takes (root, out, tasks) and the download stage's options as keywords, using those it needs.
ADAPTERS: dict[str, Callable[..., list[str]]] = {
    "generic": generic,
    "vinbigdata-chest-xray-abnormalities-detection": vinbigdata,
    "global-wheat-detection": global_wheat,
    "tensorflow-speech-recognition-challenge": speech_challenge,
}
