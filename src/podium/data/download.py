"""Where the raw data comes from: the embedded synthetic competition, a local folder or archive, an
HTTP(S) URL (sha256-checked, resumable) or the official Kaggle CLI. All end in podium's canonical layout.
"""

from __future__ import annotations

import csv
import http.client
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from podium.clips import write_clip
from podium.data import synthetic_audio, synthetic_detection
from podium.data.layout import LayoutError, check_layout
from podium.errors import PodiumError
from podium.files import sha256_file, write_json
from podium.progress import bar as progress_bar


class DownloadError(PodiumError, RuntimeError):
    """The data could not be fetched or unpacked; the message says what to fix."""


def write_synthetic(
    out: Path,
    *,
    seed: int,
    sample_rate: int,
    clip_seconds: float,
    detection_train_images: int,
    detection_test_images: int,
    image_size: int,
    max_objects: int,
    empty_fraction: float,
    audio_train_per_word: int,
    audio_test_per_word: int,
    unseen_voice_fraction: float,
    noise_clips: int,
    tasks: tuple[str, ...] = ("detection", "audio"),
) -> None:
    """Generate the embedded competition's `tasks` into `out` (canonical layout), deterministically from `seed`
    (each task from its own stream: one task's data is the same with or without the other)."""
    det_rng, audio_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if "detection" in tasks:
        _synthetic_detection(
            out / "detection", det_rng, detection_train_images, detection_test_images, image_size, max_objects,
            empty_fraction,
        )  # fmt: skip
    if "audio" in tasks:
        _synthetic_audio(
            out / "audio", audio_rng, audio_train_per_word, audio_test_per_word, unseen_voice_fraction, sample_rate,
            clip_seconds, noise_clips,
        )  # fmt: skip


def _synthetic_detection(det, det_rng, detection_train_images, detection_test_images, image_size, max_objects,
                         empty_fraction) -> None:  # fmt: skip
    train = synthetic_detection.generate_train_images(
        det_rng, detection_train_images, image_size, max_objects, empty_fraction
    )
    test = synthetic_detection.generate_test_images(
        det_rng, detection_test_images, image_size, max_objects, empty_fraction
    )
    train_names = synthetic_detection.write_images(train, det / "train/images", "train")
    test_names = synthetic_detection.write_images(test, det / "test/images", "test")
    write_json(det / "train/annotations.json", synthetic_detection.to_coco(train, train_names))
    write_json(det / "test_labels.json", synthetic_detection.to_coco(test, test_names))
    _write_csv(
        det / "sample_submission.csv", ["image_id", "PredictionString"], [(Path(n).stem, "") for n in test_names]
    )


def _synthetic_audio(audio, audio_rng, audio_train_per_word, audio_test_per_word, unseen_voice_fraction, sample_rate,
                     clip_seconds, noise_clips) -> None:  # fmt: skip
    words = len(synthetic_audio.WORDS)
    with progress_bar(
        total=words * (audio_train_per_word + audio_test_per_word), desc="speaking clips", unit="clip"
    ) as bar:
        train_clips, test_clips = synthetic_audio.generate(
            audio_rng,
            audio_train_per_word,
            audio_test_per_word,
            unseen_voice_fraction,
            sample_rate,
            clip_seconds,
            progress=bar.update,
        )
    train_rows, test_rows = [], []
    for split, clips, rows in (("train", train_clips, train_rows), ("test", test_clips, test_rows)):
        (audio / split / "clips").mkdir(parents=True, exist_ok=True)
        for i, clip in enumerate(clips):
            fname = f"{split}_{i:05d}.wav"
            write_clip(audio / split / "clips" / fname, clip.audio, sample_rate)
            rows.append((fname, clip.label, clip.speaker))
    _write_csv(audio / "train/labels.csv", ["fname", "label", "speaker"], train_rows)
    _write_csv(audio / "test_labels.csv", ["fname", "label", "speaker"], test_rows)
    _write_csv(
        audio / "sample_submission.csv", ["fname", "label"], [(r[0], synthetic_audio.WORDS[0]) for r in test_rows]
    )
    (audio / "noise").mkdir()
    babble = [c.audio for c in train_clips[::5]]
    for name, clip in synthetic_audio.generate_noise_clips(
        audio_rng, noise_clips, sample_rate, babble_words=babble
    ).items():
        write_clip(audio / "noise" / name, clip, sample_rate)


def _write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def fetch_url(
    url: str, dest: Path, sha256: str, *, retries: int = 5, timeout: float = 60.0, chunk_size: int = 1 << 20
) -> Path:
    """Download `url` to `dest`, resuming after dropped connections; `dest` appears only once its sha256
    matches. A partial download waits beside it as `<dest>.part` and is resumed by the next call."""
    if len(sha256) != 64:
        raise DownloadError(
            f"download.sha256 must be the 64-hex-digit sha256 of {url}; compute it with "
            "`sha256sum <file>` on a trusted copy and put it in params.yaml"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error: Exception | None = None
    for attempt in range(retries):
        start = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if start and response.status != 206:  # server ignored the Range header: start over
                    start = 0
                length = response.headers.get("Content-Length")
                total = start + int(length) if length else None
                with (
                    open(part, "ab" if start else "wb") as f,
                    progress_bar(total=total, initial=start, unit="B", unit_scale=True, desc=dest.name) as bar,
                ):
                    while chunk := response.read(chunk_size):
                        f.write(chunk)
                        bar.update(len(chunk))
                if total is not None and part.stat().st_size < total:
                    raise http.client.IncompleteRead(b"", total - part.stat().st_size)
            break
        except urllib.error.HTTPError as e:
            if e.code == 416 and start:  # range past the end: the part file is complete (or bogus)
                break
            raise DownloadError(f"{url}: HTTP {e.code} {e.reason}; check download.url in params.yaml") from e
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as e:
            last_error = e
            print(f"download interrupted ({e!r}); resuming, attempt {attempt + 2} of {retries}")
            time.sleep(min(2**attempt, 30) * 0.1)
    else:
        raise DownloadError(
            f"{url}: failed after {retries} attempts ({last_error!r}); the partial file "
            f"{part} is kept and the next run resumes it"
        )
    digest = sha256_file(part)
    if digest != sha256.lower():
        part.unlink()
        raise DownloadError(
            f"{url}: sha256 {digest} does not match download.sha256 {sha256} in params.yaml; "
            "the file was deleted. Fix the URL or the checksum"
        )
    part.replace(dest)
    return dest


def extract_archive(archive: Path, dest: Path) -> None:
    """Unpack a zip or tar(.gz/.bz2/.xz) archive into `dest`; refuse members that escape `dest`."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise DownloadError(
                        f"{archive}: member {bad!r} is corrupt (CRC mismatch); download or rebuild the archive"
                    )
                for name in zf.namelist():
                    if Path(name).is_absolute() or ".." in Path(name).parts:
                        raise DownloadError(f"{archive}: member {name!r} would be written outside {dest}")
                zf.extractall(dest)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    if Path(member.name).is_absolute() or ".." in Path(member.name).parts:
                        raise DownloadError(
                            f"{archive}: member {member.name!r} would be written outside {dest}; "
                            "refused (rebuild the archive with relative paths)"
                        )
                tf.extractall(dest, filter="data")
        elif archive.read_bytes()[:4] == b"PK\x03\x04":
            raise DownloadError(
                f"{archive}: truncated or corrupt zip (no central directory at its end); download it "
                "again (a partial download?) or rebuild it"
            )
        else:
            raise DownloadError(f"{archive}: not a zip or tar archive; give a folder, .zip or .tar(.gz)")
    except tarfile.FilterError as e:  # a link or member tar's data filter refuses: not corruption
        raise DownloadError(
            f"{archive}: member {e.tarinfo.name!r} is unsafe ({e}); refused, nothing written outside "
            f"{dest}; rebuild the archive without it"
        ) from e
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        if isinstance(e, DownloadError):
            raise
        raise DownloadError(f"{archive}: corrupt archive ({e}); download or rebuild it") from e


def find_data_root(folder: Path) -> Path:
    """The folder holding detection/ or audio/: `folder` itself or its single top-level subfolder."""
    if (folder / "detection").is_dir() or (folder / "audio").is_dir():
        return folder
    children = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(children) == 1:
        return find_data_root(children[0])
    return folder  # check_layout will say what is missing


def install_tree(src: Path, out: Path, tasks: tuple[str, ...] = ("detection", "audio")) -> list[str]:
    """Copy the competition's `tasks` from a canonical-layout folder (or archive) into `out` (other tasks' data
    there is left out); return them. A task of the competition missing there is a LayoutError."""
    if src.is_file():
        staging = out / ".unpacked"
        extract_archive(src, staging)
        root = find_data_root(staging)
        try:
            found = _wanted(check_layout(root), tasks, root)
        except LayoutError as e:  # name the archive, not the staging folder (deleted with the failed output)
            raise LayoutError(f"{src}: {str(e).replace(str(root), 'the archive')}") from None
        for task in found:
            shutil.move(str(root / task), out / task)
        shutil.rmtree(staging)
        return found
    if not src.is_dir():
        raise DownloadError(f"{src}: no such folder or archive; set download.local_path in params.yaml")
    root = find_data_root(src)
    found = _wanted(check_layout(root), tasks, root)
    for task in found:
        shutil.copytree(root / task, out / task)
    return found


def _wanted(present: list[str], tasks: tuple[str, ...], root: Path) -> list[str]:
    if missing := [t for t in tasks if t not in present]:
        raise LayoutError(
            f"{root}: no {'/ nor '.join(missing)}/ data, but params competition.tasks has {missing}; "
            f"this data has {present}"
        )
    return [t for t in present if t in tasks]


def kaggle_download(competition: str, out: Path, environ: Mapping[str, str], home: Path) -> Path:
    """Download a competition's files with the official `kaggle` CLI; return the downloaded zip."""
    if not competition:
        raise DownloadError("download.kaggle_competition is empty; set it to the competition's URL name")
    has_env = environ.get("KAGGLE_USERNAME") and environ.get("KAGGLE_KEY")
    config = Path(environ.get("KAGGLE_CONFIG_DIR", home / ".kaggle")) / "kaggle.json"
    if not has_env and not config.is_file():
        raise DownloadError(
            f"no Kaggle credentials: put your API token in {config} (chmod 600) or set "
            "KAGGLE_USERNAME and KAGGLE_KEY; see https://www.kaggle.com/docs/api"
        )
    beside = Path(sys.executable).parent / "kaggle"  # this interpreter's environment, on PATH or not
    exe = str(beside) if beside.is_file() else shutil.which("kaggle")
    if exe is None:
        raise DownloadError(
            f"the `kaggle` CLI is not installed in {Path(sys.executable).parent} nor on PATH; run `make setup`"
        )
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [exe, "competitions", "download", "-c", competition, "-p", str(out)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise DownloadError(
            f"kaggle competitions download -c {competition} failed: {(result.stderr or result.stdout).strip()}"
        )
    zips = sorted(out.glob("*.zip"))
    if not zips:
        raise DownloadError(f"kaggle downloaded no zip into {out}: {result.stdout.strip()}")
    return zips[0]


def summarize(out: Path, source: str) -> dict:
    """Counts per task and split, written as <raw>/manifest.json."""
    summary: dict = {"source": source}
    for task, pattern in (("detection", "*/images/*"), ("audio", "*/clips/*")):
        if (out / task).is_dir():
            files = list((out / task).glob(pattern))
            summary[task] = {
                split: sum(1 for f in files if f.parent.parent.name == split) for split in ("train", "test")
            }
    return summary


def write_manifest(out: Path, source: str, params: dict) -> None:
    write_json(out / "manifest.json", {**summarize(out, source), "params": params})
