"""Searching an ensemble's knobs on out-of-fold predictions with Optuna (TPE), never on the test set.

Boxes: per-model weights, WBF `iou_thr`, `skip_box_thr`, `conf_type` and the final score threshold,
maximising OOF COCO mAP@[.5:.95]. Probabilities: per-model weights and the voting method, maximising OOF
accuracy (ties: lower OOF log loss). The untuned settings are the first trial, so the tuned result is never
worse on OOF.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import optuna

from podium.boxes import ImagePredictions
from podium.ensemble.boxes import CONF_TYPES, PreparedSets, fuse_sets, rescore, threshold
from podium.ensemble.voting import VOTERS, vote
from podium.metrics.competition import box_metric
from podium.metrics.detection import restrict
from podium.settings import EnsembleConfig


@dataclass(frozen=True)
class BoxSettings:
    """How prediction sets are fused: what params' `ensemble.box_*` say, or what tuning found."""

    weights: dict[str, float]  # model -> weight (a model left out weighs 1)
    method: str  # a key of podium.ensemble.boxes.METHODS
    iou_thr: float
    skip_box_thr: float
    conf_type: str  # WBF only
    score_thr: float  # fused boxes below this are dropped
    calibration: str  # a key of podium.ensemble.boxes.CALIBRATIONS, applied per prediction set before fusion

    @classmethod
    def from_params(cls, cfg: EnsembleConfig) -> BoxSettings:
        return cls(
            dict(cfg.box_weights),
            cfg.box_method,
            cfg.box_iou_thr,
            cfg.box_skip_thr,
            cfg.box_conf_type,
            cfg.box_score_thr,
            cfg.box_calibration,
        )

    def equal_weights(self, models: list[str]) -> BoxSettings:
        """The same settings with every model weighing 1 (the baseline tuning is compared with)."""
        return replace(self, weights=dict.fromkeys(models, 1.0))

    def as_dict(self) -> dict:
        return asdict(self)


def fuse_models(
    sets: dict[str, list[list[ImagePredictions]]], settings: BoxSettings, workers: int = 1
) -> list[ImagePredictions]:
    """Fuse every prediction set of every model ({model: [set, ...]}: folds or one joined OOF set), each set
    weighted by its model's weight."""
    flat, weights, names = [], [], []
    for model, model_sets in sets.items():
        for i, s in enumerate(model_sets):
            flat.append(rescore(s, settings.calibration))
            weights.append(settings.weights.get(model, 1.0))
            names.append(f"{model} set {i}")
    fused = fuse_sets(
        flat,
        weights,
        names,
        workers=workers,
        method=settings.method,
        iou_thr=settings.iou_thr,
        skip_box_thr=settings.skip_box_thr,
        conf_type=settings.conf_type,
    )
    return threshold(fused, settings.score_thr)


def tune_boxes(
    oof: dict[str, list[ImagePredictions]],
    truth: dict,
    classes: list[str],
    start: BoxSettings,
    *,
    trials: int,
    seed: int,
    workers: int,
    metric: str,
    iou_thr: float,
    empty_images: str,
    no_finding: str,
) -> tuple[BoxSettings, float, dict[str, float], float]:
    """(best settings, its OOF score, each model's own OOF score, the OOF score of `start` with equal weights)
    over `trials` Optuna trials starting from `start`, by the competition's `metric` (podium.metrics.competition's
    box_metric, with its `iou_thr`, `empty_images` and `no_finding`); `truth` is the COCO ground truth
    (restricted here to the OOF images)."""
    truth = restrict(truth, {p.file_name for preds in oof.values() for p in preds})
    metric = box_metric(
        metric, truth, classes, iou_thr=iou_thr, empty_images=empty_images, no_finding=no_finding
    )  # built once: a trial pays for scoring only

    single = {m: metric(preds) for m, preds in oof.items()}
    # checked, matched and normalised once: a trial pays for fusion and scoring only
    models = list(oof)
    prepared = PreparedSets([rescore(oof[m], start.calibration) for m in models], [f"{m} OOF" for m in models])

    def score(settings: BoxSettings) -> float:
        fused = prepared.fuse(
            [settings.weights.get(m, 1.0) for m in models],
            workers,
            method=settings.method,
            iou_thr=settings.iou_thr,
            skip_box_thr=settings.skip_box_thr,
            conf_type=settings.conf_type,
        )
        return metric(threshold(fused, settings.score_thr))

    equal = score(start.equal_weights(list(oof)))
    if trials <= 0 or len(oof) == 0:
        return start, score(start), single, equal

    def objective(trial: optuna.Trial) -> float:
        settings = BoxSettings(
            weights={m: trial.suggest_float(f"w_{m}", 0.05, 1.0) for m in oof},
            method=start.method,
            iou_thr=trial.suggest_float("iou_thr", 0.4, 0.75),
            skip_box_thr=trial.suggest_float("skip_box_thr", 0.0, 0.1),
            conf_type=trial.suggest_categorical("conf_type", list(CONF_TYPES))
            if start.method == "wbf"
            else start.conf_type,
            score_thr=trial.suggest_float("score_thr", 0.0, 0.1),
            calibration=start.calibration,
        )
        trial.set_user_attr("settings", settings.as_dict())
        return score(settings)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    first = {f"w_{m}": min(max(start.weights.get(m, 1.0), 0.05), 1.0) for m in oof}
    first.update(
        iou_thr=min(max(start.iou_thr, 0.4), 0.75),
        skip_box_thr=min(start.skip_box_thr, 0.1),
        score_thr=min(start.score_thr, 0.1),
    )
    if start.method == "wbf":
        first["conf_type"] = start.conf_type
    study.enqueue_trial(first)
    study.optimize(objective, n_trials=trials)
    return BoxSettings(**study.best_trial.user_attrs["settings"]), study.best_value, single, equal


@dataclass(frozen=True)
class VoteSettings:
    """How probability sets are combined: params' `ensemble.vote_*`, or what tuning found."""

    weights: dict[str, float]  # model -> weight (a model left out weighs 1)
    method: str  # a key of podium.ensemble.voting.VOTERS

    @classmethod
    def from_params(cls, cfg: EnsembleConfig) -> VoteSettings:
        return cls(dict(cfg.vote_weights), cfg.vote_method)

    def equal_weights(self, models: list[str]) -> VoteSettings:
        return replace(self, weights=dict.fromkeys(models, 1.0))

    def as_dict(self) -> dict:
        return asdict(self)


def vote_models(probas: dict[str, list[np.ndarray]], settings: VoteSettings) -> np.ndarray:
    """Vote over every probability set of every model ({model: [(N, C) array, ...]})."""
    flat = [(p, settings.weights.get(m, 1.0)) for m, sets in probas.items() for p in sets]
    return vote(settings.method, [p for p, _ in flat], [w for _, w in flat])


def tune_votes(
    oof: dict[str, np.ndarray],
    targets: np.ndarray,
    start: VoteSettings,
    *,
    trials: int,
    seed: int,
) -> tuple[VoteSettings, float, dict[str, float], float]:
    """(best settings, its OOF accuracy, each model's own OOF accuracy, the OOF accuracy of `start` with equal
    weights); `targets` are class indices. Accuracy moves in steps of one clip, so
    many settings tie: ties go to the lower OOF log loss (of the vote's scores renormalised per row), which
    stops the search from giving a weak model weight it did not earn. A weight may reach 0 (model left out)."""

    def accuracy_and_loss(settings: VoteSettings) -> tuple[float, float]:
        scores = vote_models({m: [p] for m, p in oof.items()}, settings)
        proba = np.clip(scores / scores.sum(axis=1, keepdims=True), 1e-6, 1.0)
        loss = float(-np.log(proba[np.arange(len(targets)), targets]).mean())
        return float((scores.argmax(1) == targets).mean()), loss

    single = {m: float((p.argmax(1) == targets).mean()) for m, p in oof.items()}
    equal = accuracy_and_loss(start.equal_weights(list(oof)))[0]
    if trials <= 0:
        return start, accuracy_and_loss(start)[0], single, equal

    def objective(trial: optuna.Trial) -> float:
        settings = VoteSettings(
            {m: trial.suggest_float(f"w_{m}", 0.0, 1.0) for m in oof},
            trial.suggest_categorical("method", sorted(VOTERS)),
        )
        if not any(w > 0 for w in settings.weights.values()):
            raise optuna.TrialPruned("every weight is 0")
        accuracy, loss = accuracy_and_loss(settings)
        trial.set_user_attr("settings", settings.as_dict())
        trial.set_user_attr("accuracy", accuracy)
        return accuracy - min(loss, 10.0) / (100 * len(targets))  # the loss term stays below one clip's accuracy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(
        {**{f"w_{m}": min(max(start.weights.get(m, 1.0), 0.0), 1.0) for m in oof}, "method": start.method}
    )
    study.optimize(objective, n_trials=trials)
    best = study.best_trial.user_attrs
    return VoteSettings(**best["settings"]), best["accuracy"], single, equal


def held_out_boxes(
    oof: dict[str, list[ImagePredictions]], truth: dict, classes: list[str], start: BoxSettings, **tuning
) -> float:
    """The tuned box ensemble's score on OOF it was not tuned on: `tune_boxes` (with `tuning`: trials, seed,
    workers and the metric's knobs) on the even folds' images, those settings scored on the odd folds' images,
    and the other way round; the mean of the two, weighted by images. The tuned-on-all score is optimistic:
    the same predictions chose the settings."""
    scores, sizes = [], []
    for side in (0, 1):
        tune_on = {m: [p for p in preds if p.fold % 2 == side] for m, preds in oof.items()}
        score_on = {m: [p for p in preds if p.fold % 2 != side] for m, preds in oof.items()}
        best = tune_boxes(tune_on, truth, classes, start, **tuning)[0]
        scores.append(tune_boxes(score_on, truth, classes, best, **{**tuning, "trials": 0})[1])
        sizes.append(len(next(iter(score_on.values()))))
    return float(np.average(scores, weights=sizes))


def held_out_votes(
    oof: dict[str, np.ndarray], targets: np.ndarray, folds: np.ndarray, start: VoteSettings, **tuning
) -> float:
    """`held_out_boxes` for votes: tuned on the even folds' clips (`folds`: each row's fold), scored on the odd
    folds' ones, and the other way round; the mean accuracy, weighted by clips."""
    scores, sizes = [], []
    for side in (0, 1):
        on, off = folds % 2 == side, folds % 2 != side
        best = tune_votes({m: p[on] for m, p in oof.items()}, targets[on], start, **tuning)[0]
        scores.append(tune_votes({m: p[off] for m, p in oof.items()}, targets[off], best, **{**tuning, "trials": 0})[1])
        sizes.append(int(off.sum()))
    return float(np.average(scores, weights=sizes))


def box_candidates(
    sets: dict[str, list[list[ImagePredictions]]],
    settings: BoxSettings,
    folds: list[int],
) -> dict[str, dict[str, list[ImagePredictions]]]:
    """What a leaderboard compares ({model: [set per fold]} in): the submission (every model's folds fused with
    `settings`), each model's fold ensemble (its folds fused with the same settings) and every single
    (model, fold), keyed "submission" / "fold_ensemble" / "single" ("<model>-<fold>")."""
    return {
        "submission": {"all": fuse_models(sets, settings)},
        "fold_ensemble": {m: fuse_models({m: s}, settings) for m, s in sets.items()},
        "single": {f"{m}-{k}": s[i] for m, s in sets.items() for i, k in enumerate(folds)},
    }


def vote_candidates(
    probas: dict[str, list[np.ndarray]],
    settings: VoteSettings,
    folds: list[int],
) -> dict[str, dict[str, np.ndarray]]:
    """`box_candidates` for class probabilities ({model: [(N, C) per fold]})."""
    return {
        "submission": {"all": vote_models(probas, settings)},
        "fold_ensemble": {m: vote_models({m: p}, settings) for m, p in probas.items()},
        "single": {f"{m}-{k}": p[i] for m, p in probas.items() for i, k in enumerate(folds)},
    }
