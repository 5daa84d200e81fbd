"""download: fetch the competition's raw data into podium's canonical layout.

Reads:  params `common`, `download` (source: synthetic | local | url | kaggle), `competition.tasks`.
Writes: --out (data/raw): the competition's tasks' folders (detection/, audio/) as described in
        podium.data.layout, plus manifest.json with the resolved params.
"""

import dataclasses
import inspect
import os
import shutil
from pathlib import Path

from podium import stage
from podium.data.adapters import ADAPTERS
from podium.data.download import (
    extract_archive,
    fetch_url,
    find_data_root,
    install_tree,
    kaggle_download,
    write_manifest,
    write_synthetic,
)
from podium.data.layout import LayoutError, check_layout
from podium.files import atomic_dir
from podium.params import load_stage_params, to_dict


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "out")
    p = load_stage_params(args.params, "download")
    common, dl, tasks = p["common"], p["download"], tuple(p["competition.tasks"])
    cache = args.out.parent / ".download-cache"  # partial downloads survive a failed run, to be resumed
    with atomic_dir(args.out) as out:
        if dl.source == "synthetic":
            synthetic = inspect.signature(write_synthetic).parameters
            sizes = {k: v for k, v in dataclasses.asdict(dl).items() if k in synthetic}
            write_synthetic(
                out, seed=common.seed, sample_rate=common.sample_rate, clip_seconds=common.clip_seconds,
                tasks=tasks, **sizes,
            )  # fmt: skip
        else:
            if dl.source == "local":
                src = Path(dl.local_path)
            elif dl.source == "url":
                src = fetch_url(dl.url, cache / Path(dl.url.split("?")[0]).name, dl.sha256)
            else:
                src = kaggle_download(dl.kaggle_competition, cache, os.environ, Path.home())
            options = dict(
                unknown_fraction=dl.unknown_fraction, silence_fraction=dl.silence_fraction, seed=common.seed,
                sample_rate=common.sample_rate, clip_seconds=common.clip_seconds, image_size=dl.image_size,
                fuse_radiologists=dl.fuse_radiologists, fuse_iou_thr=dl.fuse_iou_thr, generic=dl.generic,
                classes=p["competition.detection.classes"], labels=p["competition.audio.labels"],
            )  # fmt: skip
            install(src, out, dl.layout, tasks, options)
        check_layout(out)
        write_manifest(out, dl.source, {name: to_dict(section) for name, section in p.items()})


def install(src: Path, out: Path, layout: str, tasks: tuple[str, ...], options: dict) -> None:
    """The files at `src` (folder or archive) into `out`: copied when already in podium's layout, else arranged
    by the competition's adapter."""
    if layout == "podium":
        install_tree(src, out, tasks)
        return
    if src.is_file():
        staging = out / ".unpacked"
        extract_archive(src, staging)
        ADAPTERS[layout](find_data_root(staging), out, tasks, **options)
        shutil.rmtree(staging)
    elif src.is_dir():
        ADAPTERS[layout](find_data_root(src), out, tasks, **options)
    else:
        raise LayoutError(f"{src}: no such folder or archive; set download.local_path in params.yaml")


if __name__ == "__main__":
    stage.run(main)
