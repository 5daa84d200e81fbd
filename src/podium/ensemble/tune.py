"""Searching an ensemble's knobs on out-of-fold predictions with Optuna (TPE), never on the test set.

Boxes: per-model weights, WBF `iou_thr`, `skip_box_thr`, `conf_type` and the final score threshold,
maximising OOF COCO mAP@[.5:.95]. Probabilities: per-model weights and the voting method, maximising OOF
accuracy (ties: lower OOF log loss). The untuned settings are the first trial, so the tuned result is never
worse on OOF.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import optuna

from podium.detection.predictions import ImagePredictions
from podium.ensemble.boxes import CONF_TYPES, fuse_sets, rescore, threshold
from podium.ensemble.voting import VOTERS, vote
from podium.metrics.detection import coco_map


@dataclass
class BoxSettings:
    weights: dict[str, float]  # model -> weight
    method: str = "wbf"
    iou_thr: float = 0.55
    skip_box_thr: float = 0.0
    conf_type: str = "avg"
    score_thr: float = 0.0
    calibration: str = "none"  # none | rank, applied per prediction set before fusion

    def as_dict(self) -> dict:
        return asdict(self)


def fuse_models(sets: dict[str, list[list[ImagePredictions]]], settings: BoxSettings,
                workers: int = 1) -> list[ImagePredictions]:
    """Fuse every prediction set of every model ({model: [set, ...]}: folds or one joined OOF set), each set
    weighted by its model's weight."""
    flat, weights, names = [], [], []
    for model, model_sets in sets.items():
        for i, s in enumerate(model_sets):
            flat.append(rescore(s, settings.calibration))
            weights.append(settings.weights.get(model, 1.0))
            names.append(f"{model} set {i}")
    fused = fuse_sets(flat, weights, names, workers=workers, method=settings.method, iou_thr=settings.iou_thr,
                      skip_box_thr=settings.skip_box_thr, conf_type=settings.conf_type)
    return threshold(fused, settings.score_thr)


def tune_boxes(oof: dict[str, list[ImagePredictions]], truth: dict, classes: list[str], start: BoxSettings,
               trials: int, seed: int, workers: int = 1) -> tuple[BoxSettings, float]:
    """(best settings, its OOF mAP) over `trials` Optuna trials starting from `start`."""
    def score(settings: BoxSettings) -> float:
        fused = fuse_models({m: [s] for m, s in oof.items()}, settings, workers)
        return coco_map(truth, fused, classes)["mAP"]

    if trials <= 0 or len(oof) == 0:
        return start, score(start)

    def objective(trial: optuna.Trial) -> float:
        settings = BoxSettings(
            weights={m: trial.suggest_float(f"w_{m}", 0.05, 1.0) for m in oof},
            method=start.method, iou_thr=trial.suggest_float("iou_thr", 0.4, 0.75),
            skip_box_thr=trial.suggest_float("skip_box_thr", 0.0, 0.1),
            conf_type=trial.suggest_categorical("conf_type", list(CONF_TYPES)) if start.method == "wbf"
            else start.conf_type,
            score_thr=trial.suggest_float("score_thr", 0.0, 0.1), calibration=start.calibration)
        trial.set_user_attr("settings", settings.as_dict())
        return score(settings)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    first = {f"w_{m}": min(max(start.weights.get(m, 1.0), 0.05), 1.0) for m in oof}
    first.update(iou_thr=min(max(start.iou_thr, 0.4), 0.75), skip_box_thr=min(start.skip_box_thr, 0.1),
                 score_thr=min(start.score_thr, 0.1))
    if start.method == "wbf":
        first["conf_type"] = start.conf_type
    study.enqueue_trial(first)
    study.optimize(objective, n_trials=trials)
    return BoxSettings(**study.best_trial.user_attrs["settings"]), study.best_value


@dataclass
class VoteSettings:
    weights: dict[str, float]
    method: str = "soft"

    def as_dict(self) -> dict:
        return asdict(self)


def vote_models(probas: dict[str, list[np.ndarray]], settings: VoteSettings) -> np.ndarray:
    """Vote over every probability set of every model ({model: [(N, C) array, ...]})."""
    flat = [(p, settings.weights.get(m, 1.0)) for m, sets in probas.items() for p in sets]
    return vote(settings.method, [p for p, _ in flat], [w for _, w in flat])


def tune_votes(oof: dict[str, np.ndarray], targets: np.ndarray, start: VoteSettings, trials: int,
               seed: int) -> tuple[VoteSettings, float]:
    """(best settings, its OOF accuracy); `targets` are class indices. Accuracy moves in steps of one clip, so
    many settings tie: ties go to the lower OOF log loss (of the vote's scores renormalised per row), which
    stops the search from giving a weak model weight it did not earn. A weight may reach 0 (model left out)."""
    def accuracy_and_loss(settings: VoteSettings) -> tuple[float, float]:
        scores = vote_models({m: [p] for m, p in oof.items()}, settings)
        proba = np.clip(scores / scores.sum(axis=1, keepdims=True), 1e-6, 1.0)
        loss = float(-np.log(proba[np.arange(len(targets)), targets]).mean())
        return float((scores.argmax(1) == targets).mean()), loss

    if trials <= 0:
        return start, accuracy_and_loss(start)[0]

    def objective(trial: optuna.Trial) -> float:
        settings = VoteSettings({m: trial.suggest_float(f"w_{m}", 0.0, 1.0) for m in oof},
                                trial.suggest_categorical("method", sorted(VOTERS)))
        if not any(w > 0 for w in settings.weights.values()):
            raise optuna.TrialPruned("every weight is 0")
        accuracy, loss = accuracy_and_loss(settings)
        trial.set_user_attr("settings", settings.as_dict())
        trial.set_user_attr("accuracy", accuracy)
        return accuracy - min(loss, 10.0) / (100 * len(targets))  # the loss term stays below one clip's accuracy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({**{f"w_{m}": min(max(start.weights.get(m, 1.0), 0.0), 1.0) for m in oof},
                         "method": start.method})
    study.optimize(objective, n_trials=trials)
    return VoteSettings(**study.best_trial.user_attrs["settings"]), study.best_trial.user_attrs["accuracy"]
