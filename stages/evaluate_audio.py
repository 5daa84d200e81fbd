"""evaluate_audio: one audio model's CV score: its folds' OOF probabilities (from predict_audio, with the TTA
the ensemble sees) joined into one table and scored.

Reads:  --fold_table (data/folds/audio.csv), --predictions (predictions/: audio/<model>/fold<k>/oof.csv for every
        fold of --model).
Writes: --oof (oof/audio/<model>.csv), --metrics (reports/audio/<model>/cv.json: accuracy, macro-F1,
        per-class recall, per-fold accuracy). Fails unless every validation clip is predicted exactly once.
"""

import pandas as pd

from podium import probabilities, stage
from podium.files import atomic_file, write_json
from podium.metrics import classification_scores


def main() -> None:
    args = stage.parse_paths(__doc__, "fold_table", "predictions", "oof", "metrics", model=str)
    joined = probabilities.read_model_oof(args.predictions, args.model, pd.read_csv(args.fold_table))
    classes = probabilities.classes_of(joined)
    predicted = pd.Series([classes[i] for i in probabilities.probabilities(joined, classes).argmax(1)])
    scores = classification_scores(joined.label.tolist(), predicted.tolist(), classes)
    scores["fold_accuracy"] = {
        str(k): float((joined.label == predicted)[joined.fold == k].mean()) for k in sorted(joined.fold.unique())
    }
    with atomic_file(args.oof) as f:
        joined.to_csv(f, index=False)
    write_json(args.metrics, scores)
    print(f"{args.model}: CV accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}")


if __name__ == "__main__":
    stage.run(main)
