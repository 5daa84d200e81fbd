"""merge_external: the competition's training data plus the external datasets listed in params.

Reads:  --raw (data/raw), --external (data/external: the external datasets, paths in params relative to it);
        params `common` (sample_rate), `merge_external`.
Writes: --out (data/merged): detection/images + detection/train.json (COCO, each image with source, group,
        orig_file); audio/clips + audio/train.csv (fname,label,source,group,orig_file), all mono at the
        project rate; report.json (kept per source, bad samples with reasons, duplicates, clips over full scale
        scaled down, notes).
"""

import csv

from podium import stage
from podium.data.external import (
    COMPETITION,
    DETECTION_READERS,
    MergeError,
    declared_only,
    merge_audio,
    merge_detection,
    read_audio_csv,
    read_audio_folders,
    read_coco,
)
from podium.data.layout import check_layout
from podium.files import atomic_dir, write_json
from podium.params import load_stage_params, to_dict
from podium.progress import bar


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "raw", "external", "out")
    p = load_stage_params(args.params, "merge_external")
    common, cfg = p["common"], p["merge_external"]
    classes, labels = p["competition.detection.classes"], p["competition.audio.labels"]
    tasks = check_layout(args.raw)
    report = {"params": {k: to_dict(v) for k, v in p.items()}}
    with atomic_dir(args.out) as out:
        if "detection" in tasks:
            raw = args.raw / "detection/train"
            externals = [
                DETECTION_READERS[s.format](args.external / s.path, args.external / s.images, s.name, s.classes)
                for s in cfg.detection_sources
            ]
            coco, rep = merge_detection(
                declared_only(
                    read_coco(raw / "annotations.json", raw / "images", COMPETITION, None),
                    classes,
                    "competition.detection.classes",
                ),
                declared_only((s for ext in externals for s in ext), classes, "competition.detection.classes"),
                classes,
                out / "detection",
                progress=lambda it: bar(it, desc="merging images", unit="img"),
            )
            write_json(out / "detection/train.json", coco)
            report["detection"] = rep.as_dict()
        if "audio" in tasks:
            raw = args.raw / "audio/train"
            samples = [read_audio_csv(raw / "labels.csv", COMPETITION, None, "fname", raw / "clips")]
            for s in cfg.audio_sources:
                samples.append(
                    read_audio_folders(args.external / s.path, s.name, s.labels)
                    if s.format == "folders"
                    else read_audio_csv(args.external / s.path, s.name, s.labels)
                )
            rows, rep = merge_audio(
                declared_only((x for it in samples for x in it), labels, "competition.audio.labels"),
                common.sample_rate,
                out / "audio",
                progress=lambda it: bar(it, desc="merging clips", unit="clip"),
            )
            with open(out / "audio/train.csv", "w", newline="") as f:
                writer = csv.DictWriter(f, ["fname", "label", "source", "group", "orig_file"])
                writer.writeheader()
                writer.writerows(rows)
            report["audio"] = rep.as_dict()
        bad = [b for task in ("detection", "audio") for b in report.get(task, {}).get("bad", [])]
        for b in bad:
            print(f"bad sample: {b['source']}/{b['file']}: {b['reason']}")
        for r in report.get("audio", {}).get("rescaled", []):
            print(f"rescaled: {r['file']} peaked at {r['peak']} (above full scale): scaled to a 0.999 peak")
        for n in report.get("audio", {}).get("notes", []):
            print(f"note: {n['file']}: {n['note']}")
        if bad and cfg.on_bad_sample == "fail":
            raise MergeError(
                f"{len(bad)} bad sample(s) (listed above); fix or remove them, or set "
                "merge_external.on_bad_sample: drop in params.yaml to skip them"
            )
        write_json(out / "report.json", report)


if __name__ == "__main__":
    stage.run(main)
