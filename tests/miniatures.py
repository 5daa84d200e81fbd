"""Fabricated miniatures of real competitions' downloads, in each competition's documented file format, small.

Global Wheat Detection (kaggle.com/c/global-wheat-detection/data): `train.csv` with columns
`image_id,width,height,bbox,source`, one row per box, `bbox` a Python-style list `[xmin, ymin, width, height]`
written like `"[834.0, 222.0, 56.0, 36.0]"`; `source` the site (usask_1, arvalis_1, ...); train images without
rows have no wheat; `train/<image_id>.jpg`, `test/<image_id>.jpg`; `sample_submission.csv`
(`image_id,PredictionString`, rows like `ce4833752,1.0 0 0 50 50`). The real images are 1024 px: these are
`size` px, with the sizes written in train.csv as the real file writes them.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _zip(files: Path, archive: Path) -> Path:
    """Every file under `files` into the zip `archive`, paths relative to `files`."""
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(files.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(files).as_posix())
    return archive


WHEAT_SOURCES = ["usask_1", "arvalis_1", "arvalis_2", "ethz_1", "rres_1", "inrae_1"]


def _wheat_image(rng: np.random.Generator, size: int, n: int) -> tuple[Image.Image, list[list[float]]]:
    """A field-like background with `n` wheat-head-like ellipses; their [x, y, w, h] boxes."""
    base = rng.normal(90, 12, (size, size, 3)).clip(0, 255).astype(np.uint8)
    base[..., 1] = np.clip(base[..., 1] + 30, 0, 255)
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    boxes = []
    for _ in range(n):
        w, h = (float(v) for v in rng.integers(size // 10, size // 4, 2))
        x, y = float(rng.integers(0, size - int(w))), float(rng.integers(0, size - int(h)))
        draw.ellipse([x, y, x + w, y + h], fill=(200, 180, 90), outline=(150, 120, 60))
        boxes.append([x, y, w, h])
    return image, boxes


def _image_id(rng: np.random.Generator) -> str:
    return "".join(rng.choice(list("0123456789abcdef"), 9))


def global_wheat(root: Path, *, train: int = 12, test: int = 4, size: int = 128, seed: int = 0) -> Path:
    """The competition's files unpacked under `root`, and zipped as `root`/global-wheat-detection.zip (what
    `kaggle competitions download -c global-wheat-detection` writes); the zip's path."""
    rng = np.random.default_rng(seed)
    files = root / "files"
    (files / "train").mkdir(parents=True)
    (files / "test").mkdir()
    rows = []
    for i in range(train):
        image_id = _image_id(rng)
        n = 0 if i % 6 == 5 else int(rng.integers(1, 5))  # some images without wheat: no rows
        image, boxes = _wheat_image(rng, size, n)
        image.save(files / "train" / f"{image_id}.jpg", quality=92)
        source = WHEAT_SOURCES[i % len(WHEAT_SOURCES)]
        rows += [[image_id, size, size, f"[{b[0]}, {b[1]}, {b[2]}, {b[3]}]", source] for b in boxes]
    with open(files / "train.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_id", "width", "height", "bbox", "source"])
        writer.writerows(rows)
    ids = []
    for _ in range(test):
        image_id = _image_id(rng)
        image, _ = _wheat_image(rng, size, int(rng.integers(1, 5)))
        image.save(files / "test" / f"{image_id}.jpg", quality=92)
        ids.append(image_id)
    with open(files / "sample_submission.csv", "w", newline="") as f:
        f.write("image_id,PredictionString\n" + "".join(f"{i},1.0 0 0 50 50\n" for i in ids))
    archive = root / "global-wheat-detection.zip"
    return _zip(files, archive)


SPEECH_WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "cat"]


def _tone(rng: np.random.Generator, word: int, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * (200 + 60 * word) * t) + 0.02 * rng.normal(size=t.size)
    return wave.astype(np.float32)


def speech_challenge(root: Path, *, speakers: int = 3, test: int = 6, seed: int = 0) -> Path:
    """The TensorFlow Speech Recognition Challenge's download in miniature: `train.7z` (train/audio/<word>/
    <speaker>_nohash_<n>.wav, train/audio/_background_noise_/*.wav, train/validation_list.txt and
    testing_list.txt with lines like `right/a69b9b3e_nohash_0.wav`), `test.7z` (test/audio/clip_<hex>.wav),
    `sample_submission.7z` (sample_submission.csv: `fname,label`) and `link_to_gcp_credits_form.txt`: the
    competition's file list, zipped as tensorflow-speech-recognition-challenge.zip. 16 kHz
    16-bit PCM, as the dataset's README says; 10 commands and 2 other words here (the real one has 30 words)."""
    import py7zr
    import soundfile as sf

    rng = np.random.default_rng(seed)
    files = root / "files"
    audio = files / "train/audio"
    names = [_image_id(rng)[:8] for _ in range(speakers)]
    validation, testing = [], []
    for w, word in enumerate(SPEECH_WORDS):
        (audio / word).mkdir(parents=True)
        for s, speaker in enumerate(names):
            sf.write(audio / word / f"{speaker}_nohash_0.wav", _tone(rng, w), 16000, subtype="PCM_16")
            (validation if s == 1 else testing if s == 2 else []).append(f"{word}/{speaker}_nohash_0.wav")
    (audio / "_background_noise_").mkdir()
    sf.write(audio / "_background_noise_/white_noise.wav", (0.1 * rng.normal(size=5 * 16000)).astype(np.float32),
             16000, subtype="PCM_16")  # fmt: skip
    (files / "train/validation_list.txt").write_text("\n".join(validation) + "\n")
    (files / "train/testing_list.txt").write_text("\n".join(testing) + "\n")
    (files / "test/audio").mkdir(parents=True)
    clips = []
    for _ in range(test):
        fname = f"clip_{_image_id(rng)}.wav"
        sf.write(files / "test/audio" / fname, _tone(rng, int(rng.integers(0, 12))), 16000, subtype="PCM_16")
        clips.append(fname)
    (files / "sample_submission.csv").write_text("fname,label\n" + "".join(f"{c},silence\n" for c in clips))
    download = root / "download"
    download.mkdir()
    for name in ("train", "test"):
        with py7zr.SevenZipFile(download / f"{name}.7z", "w") as z:
            z.writeall(files / name, name)
    with py7zr.SevenZipFile(download / "sample_submission.7z", "w") as z:
        z.write(files / "sample_submission.csv", "sample_submission.csv")
    (download / "link_to_gcp_credits_form.txt").write_text("https://example.invalid/gcp-credits\n")
    archive = root / "tensorflow-speech-recognition-challenge.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("train.7z", "test.7z", "sample_submission.7z", "link_to_gcp_credits_form.txt"):
            z.write(download / name, name)
    return archive


VINBIG_FINDINGS = {0: "Aortic enlargement", 3: "Cardiomegaly", 8: "Nodule/Mass"}


def _dicom(path: Path, pixels: np.ndarray, monochrome1: bool) -> None:
    """A 12-bit radiograph as the competition ships them (uncompressed here), with a VOI window."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = (4095 - pixels if monochrome1 else pixels).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def vinbigdata(
    root: Path, *, train: int = 10, test: int = 3, size: tuple[int, int] = (128, 160), seed: int = 0
) -> Path:
    """VinBigData Chest X-ray's download in miniature: `train.csv` (image_id,class_name,class_id,rad_id,x_min,
    y_min,x_max,y_max; one row per radiologist finding, `No finding` (14) rows with empty boxes), train/ and
    test/ `<image_id>.dicom` (12-bit, some MONOCHROME1), `sample_submission.csv` (`image_id,PredictionString`,
    `14 1 0 0 1 1`), zipped. Three radiologists (R8, R9, R10) per image; `size` (rows, columns) pixels where
    the real ones are about 3000."""
    rng = np.random.default_rng(seed)
    files = root / "files"
    (files / "train").mkdir(parents=True)
    (files / "test").mkdir()
    rows = []
    for i in range(train + test):
        image_id = "".join(rng.choice(list("0123456789abcdef"), 32))
        pixels = rng.normal(1500, 200, size).clip(0, 4095)
        found = [] if i % 4 == 3 else [int(c) for c in rng.choice(list(VINBIG_FINDINGS), rng.integers(1, 3))]
        for c in found:
            h, w = size
            x, y = float(rng.integers(10, w - 50)), float(rng.integers(10, h - 50))
            bw, bh = float(rng.integers(15, 40)), float(rng.integers(15, 40))
            pixels[int(y) : int(y + bh), int(x) : int(x + bw)] += 1500 + 300 * c
            if i < train:
                for rad in ("R8", "R9", "R10"):  # each reader's box a little off
                    j = rng.normal(0, 1.5, 4)
                    rows.append(
                        [image_id, VINBIG_FINDINGS[c], c, rad, x + j[0], y + j[1], x + bw + j[2], y + bh + j[3]]
                    )
        if i < train and not found:
            rows += [[image_id, "No finding", 14, rad, "", "", "", ""] for rad in ("R8", "R9", "R10")]
        split = "train" if i < train else "test"
        _dicom(files / split / f"{image_id}.dicom", pixels.clip(0, 4095), monochrome1=i % 3 == 0)
    with open(files / "train.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_id", "class_name", "class_id", "rad_id", "x_min", "y_min", "x_max", "y_max"])
        writer.writerows([r[:4] + [f"{v:.1f}" if isinstance(v, float) else v for v in r[4:]] for r in rows])
    tests = sorted(p.stem for p in (files / "test").iterdir())
    (files / "sample_submission.csv").write_text(
        "image_id,PredictionString\n" + "".join(f"{t},14 1 0 0 1 1\n" for t in tests)
    )
    archive = root / "vinbigdata-chest-xray-abnormalities-detection.zip"
    return _zip(files, archive)


def generic_detection(root: Path, *, train: int = 12, test: int = 4, size: int = 96, seed: int = 0) -> Path:
    """A competition podium has no adapter for, described by params alone: `labels.csv` with named columns
    `image,label,xmin,ymin,xmax,ymax` (one row per box, xyxy pixels, file names with their suffix), `images/`
    and `test_images/` PNGs, and a submission `Id,Predicted` whose groups are `score class x y w h`, `none` for
    an image without objects. Zipped; the zip's path."""
    rng = np.random.default_rng(seed)
    files = root / "files"
    (files / "images").mkdir(parents=True)
    (files / "test_images").mkdir()
    rows, test_names = [], []
    for i in range(train + test):
        base = rng.normal(120, 20, (size, size, 3)).clip(0, 255).astype(np.uint8)
        image = Image.fromarray(base)
        draw = ImageDraw.Draw(image)
        name = f"img_{i:03d}.png"
        for _ in range(int(rng.integers(0, 3))):
            label = ["apple", "pear"][int(rng.integers(0, 2))]
            x, y = (int(v) for v in rng.integers(0, size - 30, 2))
            w, h = (int(v) for v in rng.integers(12, 28, 2))
            fill = (220, 40, 40) if label == "apple" else (60, 200, 60)
            (draw.ellipse if label == "apple" else draw.rectangle)([x, y, x + w, y + h], fill=fill)
            if i < train:
                rows.append([name, label, x, y, x + w, y + h])
        image.save(files / ("images" if i < train else "test_images") / name)
        if i >= train:
            test_names.append(Path(name).stem)
    with open(files / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "label", "xmin", "ymin", "xmax", "ymax"])
        writer.writerows(rows)
    (files / "sample_submission.csv").write_text("Id,Predicted\n" + "".join(f"{t},none\n" for t in test_names))
    archive = root / "fruit.zip"
    return _zip(files, archive)
