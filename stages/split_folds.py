"""split_folds: K-fold assignment, stratified and grouped so no group straddles two folds.

Reads:  --merged (data/merged); params `common.seed`, `split_folds`.
Writes: --out (data/folds): detection.csv (file_name,source,group,fold), audio.csv (fname,label,source,
        group,fold) with fold -1 for train-only external samples, and summary.json (per-fold label counts, each
        class's share of the training boxes / clips, the resolved params). Prints the class balance, and a
        warning for a class above `split_folds.warn_class_share`.
"""

import sys
from itertools import chain

import pandas as pd

from podium import stage
from podium.data.folds import assign_folds, class_shares, detection_strata, fold_summary
from podium.data.layout import COMPETITION
from podium.files import atomic_dir, read_json, write_json
from podium.params import load_stage_params, to_dict


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "merged", "out")
    p = load_stage_params(args.params, "split_folds")
    seed, cfg = p["common.seed"], p["split_folds"]
    summary = {"params": {k: to_dict(v) for k, v in p.items()}}
    with atomic_dir(args.out) as out:
        if (args.merged / "detection/train.json").exists():
            coco = read_json(args.merged / "detection/train.json")
            names = {c["id"]: c["name"] for c in coco["categories"]}
            labels: dict[int, list[str]] = {img["id"]: [] for img in coco["images"]}
            for ann in coco["annotations"]:
                labels[ann["image_id"]].append(names[ann["category_id"]])
            table = pd.DataFrame([{k: img[k] for k in ("file_name", "source", "group")} for img in coco["images"]])
            strata = detection_strata(
                [labels[img["id"]] for img in coco["images"]], [img.get("domain") for img in coco["images"]]
            )
            table["fold"] = assign_folds(strata, table.group.tolist(), _train_only(table, cfg), len(cfg.folds), seed)
            table.to_csv(out / "detection.csv", index=False)
            summary["detection"] = fold_summary(table.fold.to_numpy(), [s.split("|")[0] for s in strata])
            summary["detection"]["class_share"] = _balance("detection boxes", list(chain(*labels.values())), cfg)
        if (args.merged / "audio/train.csv").exists():
            table = pd.read_csv(args.merged / "audio/train.csv").drop(columns=["orig_file"])
            table["fold"] = assign_folds(
                table.label.tolist(), table.group.tolist(), _train_only(table, cfg), len(cfg.folds), seed
            )
            table.to_csv(out / "audio.csv", index=False)
            summary["audio"] = fold_summary(table.fold.to_numpy(), table.label.tolist())
            summary["audio"]["class_share"] = _balance("audio clips", table.label.tolist(), cfg)
        write_json(out / "summary.json", summary)


def _balance(what: str, labels: list[str], cfg) -> dict[str, float]:
    shares = class_shares(labels) if labels else {}
    print(f"{what}: " + (", ".join(f"{c} {s:.1%}" for c, s in shares.items()) or "none"))
    for label, share in shares.items():
        if share > cfg.warn_class_share:
            print(
                f"warning: {label} is {share:.0%} of the {what} (over split_folds.warn_class_share "
                f"{cfg.warn_class_share:.0%}): check the download's labels and the preset's sampling "
                "(download.silence_fraction, download.unknown_fraction)",
                file=sys.stderr,
            )
    return {label: round(share, 4) for label, share in shares.items()}


def _train_only(table: pd.DataFrame, cfg) -> list[bool]:
    return ((table.source != COMPETITION) & cfg.external_train_only).tolist()


if __name__ == "__main__":
    stage.run(main)
