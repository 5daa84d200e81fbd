"""The LR range test (Smith, "Cyclical Learning Rates for Training Neural Networks", 2017; fastai's `lr_find`):
train for a few steps while the learning rate rises exponentially, smooth the loss, and read a learning rate
off the curve. Neutral: the audio trainer and the detectors' mmengine hook both record into `LrRange`.

Rule (stated in every report): the suggested LR is the LR at the smoothed loss's minimum divided by 10 ("one
order of magnitude before the minimum", fastai's `lr_min`): the minimum itself sits at the edge of divergence.
The steepest descent (the LR where the smoothed loss falls fastest per log-LR, before the minimum) is reported
beside it. Both skip the first 1 / (1 - smoothing) - 1 steps, where the moving average rests on a few losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from podium.files import write_json

RULE = "suggested_lr = the LR at the smoothed loss's minimum / 10 (the first 1/(1-smoothing)-1 steps skipped)"


def lr_ramp(start: float, end: float, steps: int) -> list[float]:
    """`steps` learning rates rising exponentially from `start` to `end` (both included)."""
    return np.geomspace(start, end, steps).tolist()


@dataclass
class LrRange:
    """Records (lr, loss) step by step; `record` says whether to go on (False once the loss is not finite or the
    smoothed loss exceeds `diverge` times its best)."""

    smoothing: float  # EMA factor of the loss (fastai's beta), bias-corrected
    diverge: float
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    _avg: float = 0.0

    def record(self, lr: float, loss: float) -> bool:
        if not math.isfinite(loss):
            return False
        self.lrs.append(lr)
        self.losses.append(loss)
        self._avg = self.smoothing * self._avg + (1 - self.smoothing) * loss
        self.smoothed.append(self._avg / (1 - self.smoothing ** len(self.losses)))
        return self.smoothed[-1] <= self.diverge * min(self.smoothed)

    def suggestion(self) -> dict:
        """{suggested_lr, min_loss_lr, steepest_lr, steps}; a ValueError when fewer than 3 steps were recorded."""
        if len(self.lrs) < 3:
            raise ValueError(
                f"the LR range test recorded {len(self.lrs)} step(s): the loss was not finite from the start; "
                "lower lr_find.start_lr"
            )
        smoothed, log_lr = np.asarray(self.smoothed), np.log10(self.lrs)
        # the moving average's first steps rest on a few losses (fastai skips the start of the curve too)
        start = min(round(1 / (1 - self.smoothing)) - 1, len(smoothed) // 4)
        best = start + int(np.argmin(smoothed[start:]))
        slope = np.gradient(smoothed, log_lr)
        steep = start + int(np.argmin(slope[start : best + 1]))
        return {
            "suggested_lr": self.lrs[best] / 10,
            "min_loss_lr": self.lrs[best],
            "steepest_lr": self.lrs[steep],
            "steps": len(self.lrs),
            "rule": RULE,
        }

    def write(self, out: Path, title: str, current_lr: float) -> str:
        """`out`/lr_find.json (the suggestion, the LR the params now use, every step), `out`/metrics.json (the
        LRs, for DVC) and `out`/lr_find.png (loss and smoothed loss against the LR on a log axis, the suggestion
        and the current LR marked); returns a line saying what it suggests."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        result = {**self.suggestion(), "current_lr": current_lr}
        out.mkdir(parents=True, exist_ok=True)
        steps = [
            {"lr": lr, "loss": loss, "smoothed": s}
            for lr, loss, s in zip(self.lrs, self.losses, self.smoothed, strict=True)
        ]
        write_json(out / "lr_find.json", {**result, "history": steps})
        write_json(out / "metrics.json", {k: v for k, v in result.items() if k != "rule"})
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.losses, color="0.75", linewidth=1, label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", label="smoothed")
        ax.axvline(result["suggested_lr"], color="C2", linestyle="--", label=f"suggested {result['suggested_lr']:.2g}")
        ax.axvline(current_lr, color="C3", linestyle=":", label=f"params now {current_lr:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.set_title(title, fontsize=9)
        best = int(np.argmin(self.smoothed))  # the view: the smoothed curve up to its minimum, some room above
        low, high = self.smoothed[best], max(self.smoothed[: best + 1])
        span = max(high - low, 1e-3 * abs(low), 1e-6)
        ax.set_ylim(low - 0.2 * span, high + 0.5 * span)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "lr_find.png", dpi=90, metadata={"Software": None})
        plt.close(fig)
        return (
            f"{title}: suggested lr {result['suggested_lr']:.3g} (params: {current_lr:.3g}); {RULE}; "
            f"{result['steps']} steps"
        )
