"""download: fetch the competition's raw data into podium's canonical layout.

Reads:  params `common`, `download` (source: synthetic | local | url | kaggle), `competition.tasks`.
Writes: --out (data/raw): the competition's tasks' folders (detection/, audio/) as described in
        podium.data.layout, plus manifest.json with the resolved params.
"""

import dataclasses
import os
from pathlib import Path

from podium import stage
from podium.data.download import fetch_url, install_tree, kaggle_download, write_manifest, write_synthetic
from podium.data.layout import check_layout
from podium.files import atomic_dir
from podium.params import load_stage_params, to_dict


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "out")
    p = load_stage_params(args.params, "download")
    common, dl, tasks = p["common"], p["download"], tuple(p["competition.tasks"])
    cache = args.out.parent / ".download-cache"  # partial downloads survive a failed run, to be resumed
    with atomic_dir(args.out) as out:
        if dl.source == "synthetic":
            sizes = {
                k: v
                for k, v in dataclasses.asdict(dl).items()
                if k not in ("source", "local_path", "url", "sha256", "kaggle_competition")
            }
            write_synthetic(
                out, seed=common.seed, sample_rate=common.sample_rate, clip_seconds=common.clip_seconds,
                tasks=tasks, **sizes,
            )  # fmt: skip
        elif dl.source == "local":
            install_tree(Path(dl.local_path), out, tasks)
        elif dl.source == "url":
            archive = fetch_url(dl.url, cache / Path(dl.url.split("?")[0]).name, dl.sha256)
            install_tree(archive, out, tasks)
        else:
            archive = kaggle_download(dl.kaggle_competition, cache, os.environ, Path.home())
            install_tree(archive, out, tasks)
        check_layout(out)
        write_manifest(out, dl.source, {name: to_dict(section) for name, section in p.items()})


if __name__ == "__main__":
    stage.run(main)
