"""augment: N augmented clones of every training sample, for images (with boxes) and audio clips.

Reads:  --folds (data/folds: detection.csv, audio.csv), --merged (data/merged: detection/images + train.json,
        audio/clips), --noise (background-noise clips, <raw>/audio/noise); params `common`, `augment`.
Writes: --out (data/augmented): detection/images + train.json (COCO; each image carries parent, group, fold,
        policy), audio/clips + train.csv (fname,label,source,group,fold,parent,policy), report.json (clones
        written, failed clones and why, rescaled clips); --reports (reports/augment): previews/detection.png and
        previews/audio.png, originals beside their clones (dvc plots; a competition's tasks only),
        metrics.json (counts; the speed goes to the console).
Same seed and params, same bytes in --out, whatever `augment.workers` is.
"""

import time

import pandas as pd

from podium import stage
from podium.augment import preview
from podium.augment.clones import AudioCloner, ImageCloner, clones_to_coco, detection_jobs, run_cloner
from podium.files import atomic_dir, read_json, write_json
from podium.params import load_stage_params, to_dict


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "folds", "merged", "noise", "out", "reports")
    p = load_stage_params(args.params, "augment")
    common, cfg = p["common"], p["augment"]
    report, metrics, speeds = {"params": to_dict(cfg)}, {}, {}
    (args.reports / "previews").mkdir(parents=True, exist_ok=True)
    with atomic_dir(args.out) as out:
        if (args.merged / "detection/train.json").exists():
            coco = read_json(args.merged / "detection/train.json")
            folds = pd.read_csv(args.folds / "detection.csv")
            jobs = detection_jobs(coco, dict(zip(folds.file_name, folds.fold, strict=True)))
            (out / "detection/images").mkdir(parents=True)
            cloner = ImageCloner(
                cfg, seed=common.seed, images=args.merged / "detection/images", out=out / "detection/images"
            )
            start = time.perf_counter()
            result = run_cloner(cloner, jobs, cfg.workers, "augment images")
            speeds["detection"] = len(jobs) / max(time.perf_counter() - start, 1e-9)
            report["detection"], metrics["detection"] = _summary(jobs, result)
            write_json(out / "detection/train.json", clones_to_coco(result.clones, coco["categories"]))
            if jobs:
                preview.detection_grid(
                    _rows(jobs, result.clones, "file_name", cfg.preview),
                    args.merged / "detection/images",
                    out / "detection/images",
                    args.reports / "previews/detection.png",
                )
        if (args.folds / "audio.csv").exists():
            table = pd.read_csv(args.folds / "audio.csv")
            jobs = table.sort_values("fname").to_dict("records")
            (out / "audio/clips").mkdir(parents=True)
            noise = args.noise if args.noise.is_dir() else None
            cloner = AudioCloner(
                cfg,
                seed=common.seed,
                sample_rate=common.sample_rate,
                noise=noise,
                clips=args.merged / "audio/clips",
                out=out / "audio/clips",
            )
            start = time.perf_counter()
            result = run_cloner(cloner, jobs, cfg.workers, "augment clips")
            speeds["audio"] = len(jobs) / max(time.perf_counter() - start, 1e-9)
            report["audio"], metrics["audio"] = _summary(jobs, result)
            columns = [*table.columns, "parent", "policy"]
            pd.DataFrame(result.clones, columns=columns).to_csv(out / "audio/train.csv", index=False)
            if jobs:
                preview.audio_grid(
                    _rows(jobs, result.clones, "fname", cfg.preview),
                    args.merged / "audio/clips",
                    out / "audio/clips",
                    common.sample_rate,
                    args.reports / "previews/audio.png",
                )
        write_json(out / "report.json", report)
    write_json(args.reports / "metrics.json", metrics)
    for task, m in metrics.items():
        print(
            f"{task}: {m['clones']} clones of {m['parents']} samples, {m['failed']} failed (see "
            f"{args.out / 'report.json'}), {speeds[task]:.1f} samples/s"
        )


def _summary(jobs: list, result) -> tuple[dict, dict]:
    """(the report entry; the metrics entry): both deterministic, so a rerun rewrites the same bytes (the speed
    goes to the console only)."""
    policies = {p: sum(c["policy"] == p for c in result.clones) for p in ("weak", "strong")}
    report = {
        "parents": len(jobs),
        "clones": len(result.clones),
        "policies": policies,
        "rescaled": result.rescaled,
        "failures": result.failures,
    }
    metrics = {
        "parents": len(jobs),
        "clones": len(result.clones),
        "failed": len(result.failures),
        "rescaled": result.rescaled,
    }
    return report, metrics


def _rows(jobs: list[dict], clones: list[dict], key: str, count: int) -> list:
    """The first `count` parents that have clones, with their clones (at most 4 each); without clones
    (augmentation off) the first `count` originals alone, so the declared preview always exists."""
    kids: dict[str, list] = {}
    for rec in clones:
        kids.setdefault(rec["parent"], []).append(rec)
    if not kids:
        return [(job, []) for job in jobs[:count]]
    return [(job, kids[job[key]][:4]) for job in jobs if job[key] in kids][:count]


if __name__ == "__main__":
    stage.run(main)
