"""evaluate_audio: join one audio model's folds into one out-of-fold table and score it (its CV score).

Reads:  --folds (data/folds/audio.csv), --models (models/audio/<model>: fold<k>/oof.csv for every fold).
Writes: --oof (oof/audio/<model>.csv), --metrics (reports/audio/<model>/cv.json: accuracy, macro-F1,
        per-class recall, per-fold accuracy). Fails unless every validation clip is predicted exactly once.
"""

import pandas as pd

from podium import stage
from podium.audio import oof
from podium.files import atomic_file, write_json
from podium.metrics import classification_scores


def main() -> None:
    args = stage.parse_paths(__doc__, "folds", "models", "oof", "metrics")
    folds = pd.read_csv(args.folds)
    parts = {}
    for fold in sorted(f for f in folds.fold.unique() if f >= 0):
        path = args.models / f"fold{fold}" / "oof.csv"
        if path.exists():
            parts[int(fold)] = pd.read_csv(path)
    joined = oof.join_oof(parts, folds, where=str(args.models))
    classes = oof.classes_of(joined)
    predicted = [classes[i] for i in joined[[oof.PROB_PREFIX + c for c in classes]].to_numpy().argmax(1)]
    scores = classification_scores(joined.label.tolist(), predicted, classes)
    scores["fold_accuracy"] = {str(k): float((joined.label == pd.Series(predicted))[joined.fold == k].mean())
                               for k in sorted(parts)}
    with atomic_file(args.oof) as f:
        joined.to_csv(f, index=False)
    write_json(args.metrics, scores)
    print(f"{args.models.name}: CV accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}")


if __name__ == "__main__":
    stage.run(main)
