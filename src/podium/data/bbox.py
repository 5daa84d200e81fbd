"""A box written as text in a CSV cell, read safely: shared by the external-data readers and the competition
adapters."""

from __future__ import annotations

import ast

import numpy as np


def parse_bbox(text: str | None) -> list[float] | None:
    """A CSV cell `"[x, y, w, h]"` as four finite floats, or None for anything else (a bad sample, never an
    exception): literal_eval reads Python literals only, never calls code."""
    try:
        value = ast.literal_eval(text.strip()) if isinstance(text, str) and len(text) < 1000 else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    box = [float(v) for v in value]
    return box if all(np.isfinite(box)) else None
