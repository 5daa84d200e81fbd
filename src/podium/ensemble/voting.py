"""Combining class probabilities from several models: soft voting, geometric mean, weighted hard voting.

Input: a list of (N, C) probability arrays, one per model, rows in the same sample order and columns in the
same class order; per-model weights (>= 0, at least one > 0). Output: (N, C) scores whose argmax is the vote.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _check(probas: list[np.ndarray], weights: list[float]) -> np.ndarray:
    if len(probas) != len(weights):
        raise ValueError(f"{len(probas)} probability sets but {len(weights)} weights")
    if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
        raise ValueError(f"weights must be >= 0 with at least one > 0, got {weights}")
    shapes = {p.shape for p in probas}
    if len(shapes) != 1:
        raise ValueError(f"probability sets differ in shape: {sorted(shapes)}")
    if any(not np.isfinite(p).all() for p in probas):
        raise ValueError("probabilities contain NaN or infinity")
    w = np.asarray(weights, np.float64)
    return w / w.sum()


def soft_vote(probas: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Weighted mean of probabilities."""
    w = _check(probas, weights)
    return np.tensordot(w, np.stack(probas), axes=1)


def geometric_mean(probas: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Weighted geometric mean, renormalised per row: one confident 'no' weighs more than in soft voting."""
    w = _check(probas, weights)
    log = np.tensordot(w, np.log(np.clip(np.stack(probas), 1e-12, 1.0)), axes=1)
    out = np.exp(log - log.max(axis=1, keepdims=True))
    return out / out.sum(axis=1, keepdims=True)


def hard_vote(probas: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Each model votes for its top class with its weight; ties go to the higher mean probability."""
    w = _check(probas, weights)
    votes = np.zeros_like(probas[0], dtype=np.float64)
    for weight, p in zip(w, probas, strict=True):
        votes[np.arange(len(p)), p.argmax(axis=1)] += weight
    return votes + 1e-6 * soft_vote(probas, list(w))


VOTERS: dict[str, Callable[[list[np.ndarray], list[float]], np.ndarray]] = {
    "soft": soft_vote,
    "geometric": geometric_mean,
    "hard": hard_vote,
}


def vote(method: str, probas: list[np.ndarray], weights: list[float]) -> np.ndarray:
    if method not in VOTERS:
        raise ValueError(f"unknown voting method {method!r}; valid methods are {sorted(VOTERS)}")
    return VOTERS[method](probas, weights)
