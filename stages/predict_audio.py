"""predict_audio: one trained (model, fold) scores the test clips and, with the same TTA, its fold's
validation clips (OOF), so ensembles are tuned on OOF exactly as they are applied to test.

Reads:  --model_dir (models/audio/<model>/fold<k>/model.pt), --fold_table (data/folds/audio.csv), --clips
        (data/merged/audio/clips), --test (data/raw/audio/test/clips); params `numerics`, `predict_audio`.
Writes: --out (predictions/audio/<model>/fold<k>): oof.csv and test.csv (a `# model= fold=` line, then fname,
        label (oof), fold, p_<class>...; see podium.probabilities); numerics.json
        (the numeric environment).
"""

import pandas as pd

from podium import devices, probabilities, stage
from podium.audio import predict, train
from podium.data.layout import AUDIO_SUFFIXES, list_files
from podium.files import atomic_dir, write_json
from podium.params import load_stage_params
from podium.progress import bar


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "model_dir", "fold_table", "clips", "test", "out", model=str, fold=int)
    p = load_stage_params(args.params, "predict_audio")
    cfg = p["predict_audio"]
    devices.pin_numerics(p["numerics"])
    device = devices.pick_device(cfg.device)
    model, meta = train.load_checkpoint(args.model_dir / "model.pt", device, args.model, args.fold)
    folds = pd.read_csv(args.fold_table)
    val = folds[folds.fold == args.fold]
    sets = {
        "oof": ([args.clips / f for f in val.fname], val.label.tolist(), args.fold),
        "test": (list_files(args.test, AUDIO_SUFFIXES), None, -1),
    }
    views = predict.tta_views(cfg.tta_shifts, cfg.tta_polarity, meta["sample_rate"])
    with atomic_dir(args.out) as out:
        write_json(out / "numerics.json", devices.numeric_environment(p["numerics"], device))
        for name, (paths, labels, fold) in sets.items():
            clips = predict.ClipDataset(paths, [0] * len(paths), meta["sample_rate"], meta["clip_samples"])
            loader = predict.clip_loader(clips, batch_size=cfg.batch_size, num_workers=0)
            with bar(total=len(paths), unit="clip", desc=f"{args.model} fold {args.fold} {name}") as progress:
                proba = predict.predict_proba(model, loader, device, views, progress.update)
            table = probabilities.proba_table(
                [p.name for p in paths], labels or [""] * len(paths), fold, proba, meta["classes"]
            )
            probabilities.write_table(out / f"{name}.csv", table, args.model, args.fold)


if __name__ == "__main__":
    stage.run(main)
