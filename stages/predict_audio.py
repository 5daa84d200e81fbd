"""predict_audio: one trained (model, fold) scores the test clips and, with the same TTA, its fold's
validation clips (OOF), so ensembles are tuned on OOF exactly as they are applied to test.

Reads:  --models (models/audio/<model>/fold<k>/model.pt), --folds (data/folds/audio.csv), --clips
        (data/merged/audio/clips), --test (data/raw/audio/test/clips); params `predict_audio`.
Writes: --out (predictions/audio/<model>/fold<k>): oof.csv and test.csv (fname, label (oof), fold, p_<class>...).
"""

import pandas as pd
import torch
from tqdm import tqdm

from podium import stage
from podium.audio import oof, predict, train
from podium.data.layout import AUDIO_SUFFIXES, list_files
from podium.files import atomic_dir
from podium.params import load_stage_params


def main() -> None:
    args = stage.parse_paths(__doc__, "params", "models", "folds", "clips", "test", "out", model=str, fold=int)
    cfg = load_stage_params(args.params, "predict_audio")["predict_audio"]
    device = torch.device("cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu")
    model, meta = train.load_checkpoint(args.models / "model.pt", device)
    if (meta["network"], meta["fold"]) != (args.model, args.fold):
        raise oof.OOFError(f"{args.models / 'model.pt'}: holds {meta['network']} fold {meta['fold']}, not "
                           f"{args.model} fold {args.fold}; rerun train_audio@{args.model}-{args.fold}")
    folds = pd.read_csv(args.folds)
    val = folds[folds.fold == args.fold]
    sets = {"oof": ([args.clips / f for f in val.fname], val.label.tolist(), args.fold),
            "test": (list_files(args.test, AUDIO_SUFFIXES), None, -1)}
    with atomic_dir(args.out) as out:
        for name, (paths, labels, fold) in sets.items():
            with tqdm(total=len(paths), unit="clip", desc=f"{args.model} fold {args.fold} {name}") as bar:
                proba = predict.predict_clips(model, paths, meta["sample_rate"], meta["clip_samples"], cfg.tta_shifts,
                                              cfg.tta_polarity, cfg.batch_size, device, bar.update)
            table = oof.oof_table([p.name for p in paths], labels or [""] * len(paths), fold, proba, meta["classes"])
            table.to_csv(out / f"{name}.csv", index=False)


if __name__ == "__main__":
    stage.run(main)
