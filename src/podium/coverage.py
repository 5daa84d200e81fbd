"""Which samples a fold validates and trains on (clones included), and the check that out-of-fold predictions
cover the validated samples exactly once.

A folds table has one row per training sample and a `fold` column: 0..K-1, or -1 for a sample that is
always trained on and never validated. Neutral: imported by the prediction types of both tasks.
"""

from __future__ import annotations

import pandas as pd

from podium.errors import PodiumError


class FoldError(PodiumError, ValueError):
    """Fold assignments that do not fit the data they are used with."""


def validation_folds(table: pd.DataFrame) -> list[int]:
    """The folds that validate something, in order (fold -1, train-only, is not one)."""
    return sorted(int(f) for f in table.fold.unique() if f >= 0)


def check_coverage(
    predicted: list[tuple[str, int]], expected: dict[str, int], where: str, error: type[Exception] = ValueError
) -> None:
    """Out-of-fold predictions (sample, fold that predicted it) must cover every `expected` sample (sample ->
    its validation fold) exactly once, each by its own fold's model. Raises `error` saying what is wrong."""
    names = [name for name, _ in predicted]
    seen, dup = set(), set()
    for name in names:
        (dup if name in seen else seen).add(name)
    if dup:
        raise error(f"{where}: {len(dup)} sample(s) predicted more than once, e.g. {sorted(dup)[:5]}")
    got = dict(predicted)
    if missing := sorted(set(expected) - set(got)):
        raise error(f"{where}: {len(missing)} training sample(s) have no OOF prediction, e.g. {missing[:5]}")
    if extra := sorted(set(got) - set(expected)):
        raise error(f"{where}: {len(extra)} OOF sample(s) are not validation samples, e.g. {extra[:5]}")
    if wrong := sorted(n for n in expected if expected[n] != got[n]):
        raise error(
            f"{where}: {len(wrong)} sample(s) predicted by the wrong fold, e.g. {wrong[:5]}; "
            "the folds changed since training: rerun the training stages"
        )


def check_clone_folds(clones: list[dict], fold_of: dict[str, int], key: str, where: str) -> None:
    """Every clone's parent must still be in the folds table with the clone's fold, else the clones are stale."""
    for rec in clones:
        if fold_of.get(rec["parent"]) != rec["fold"]:
            raise FoldError(
                f"{where}: clone {rec[key]} has fold {rec['fold']} but its parent {rec['parent']} "
                f"has fold {fold_of.get(rec['parent'])} in the folds table; rerun the augment stage"
            )


def training_clones(clones: list[dict], fold: int) -> list[dict]:
    """The clones a model validated on `fold` may train on: those whose parent is not in `fold`."""
    return [rec for rec in clones if rec["fold"] != fold]
