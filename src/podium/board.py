"""`podium board`: does the public leaderboard agree with my CV? One point per DVC experiment (the workspace,
each commit `dvc exp show` lists, each experiment): its CV (tune_ensemble's tuned OOF score), its local LB
(submit's score of the submission) and its public LB (the score `podium kaggle submit` recorded for that exact
submission CSV, found by sha256), drawn CV against local LB and CV against public LB with the rank correlation.

Each experiment's submission CSV is read from its git revision (`git show REV:submissions/<task>.csv`; the
submit stage keeps the CSVs in git), so an experiment submitted once is found whatever its name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from podium.errors import PodiumError
from podium.files import atomic_file, read_json, write_json
from podium.submission.kaggle_lb import sha256_bytes


def experiments(exp_show: list[dict]) -> list[dict]:
    """(name, rev, metrics) of every revision in `dvc exp show --json` output: the workspace, each baseline
    commit and each experiment on it."""
    out = []

    def add(entry: dict, name: str | None) -> None:
        data = entry.get("data") or {}
        metrics = {path: m.get("data", {}) for path, m in (data.get("metrics") or {}).items()}
        out.append({"name": name or entry["rev"][:7], "rev": entry["rev"], "metrics": metrics})

    for base in exp_show:
        if base.get("error") or not base.get("data"):
            continue
        add(base, base.get("name") or ("workspace" if base["rev"] == "workspace" else None))
        for exp in base.get("experiments") or []:
            for rev in exp.get("revs") or []:
                if rev.get("data"):
                    add(rev, rev.get("name") or exp.get("name"))
    return out


def _get(tree: dict, *keys):
    for k in keys:
        if not isinstance(tree, dict) or k not in tree:
            return None
        tree = tree[k]
    return tree if isinstance(tree, int | float) and not isinstance(tree, bool) else None


def _submission_sha(repo: Path, rev: str, task: str) -> str | None:
    if rev == "workspace":
        path = repo / "submissions" / f"{task}.csv"
        return sha256_bytes(path.read_bytes()) if path.exists() else None
    shown = subprocess.run(["git", "show", f"{rev}:submissions/{task}.csv"], cwd=repo, capture_output=True, check=False)
    return sha256_bytes(shown.stdout) if shown.returncode == 0 else None


def board_rows(exp_show: list[dict], task: str, history: dict, repo: Path) -> list[dict]:
    rows = []
    for e in experiments(exp_show):
        digest = _submission_sha(repo, e["rev"], task)
        public = (history.get(digest) or {}).get("public") if digest else None
        rows.append(
            {
                "name": e["name"],
                "rev": e["rev"],
                "cv": _get(e["metrics"], "reports/ensemble.json", task, "tuned"),
                "local_lb": _get(e["metrics"], "reports/leaderboard.json", task, "submission"),
                "public_lb": public,
                "sha256": digest,
            }
        )
    return rows


def spearman(xs: list, ys: list) -> float | None:
    """Rank correlation over the points that have both values (None under 3 points)."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
    if len(pairs) < 3:
        return None
    from scipy.stats import spearmanr

    rho = spearmanr(*zip(*pairs, strict=True)).statistic
    return None if np.isnan(rho) else float(rho)


def draw(rows: list[dict], task: str, out: Path) -> dict:
    """board.png (CV vs local LB, CV vs public LB, each point named) and board.json beside it; the summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = {
        "task": task,
        "rank_correlation": {
            "cv_vs_local_lb": spearman([r["cv"] for r in rows], [r["local_lb"] for r in rows]),
            "cv_vs_public_lb": spearman([r["cv"] for r in rows], [r["public_lb"] for r in rows]),
            "local_lb_vs_public_lb": spearman([r["local_lb"] for r in rows], [r["public_lb"] for r in rows]),
        },
        "experiments": rows,
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, key, label in ((axes[0], "local_lb", "local LB"), (axes[1], "public_lb", "public LB")):
        points = [r for r in rows if r["cv"] is not None and r[key] is not None]
        ax.scatter([r["cv"] for r in points], [r[key] for r in points], color="tab:blue")
        for r in points:
            ax.annotate(r["name"], (r["cv"], r[key]), textcoords="offset points", xytext=(4, 4), fontsize=8)
        rho = summary["rank_correlation"][f"cv_vs_{key}"]
        ax.set_title(f"CV vs {label}: Spearman {rho:.2f}" if rho is not None else f"CV vs {label}: under 3 points")
        ax.set_xlabel("CV (OOF, tuned ensemble)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if not points:
            ax.text(0.5, 0.5, f"no experiment has a {label} yet", ha="center", transform=ax.transAxes)
    fig.suptitle(f"{task}: {len(rows)} experiments")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    write_json(out.with_suffix(".json"), summary)
    return summary


def exp_show_json(repo: Path) -> list[dict]:
    beside = Path(sys.executable).parent / "dvc"  # this interpreter's environment, on PATH or not
    dvc = str(beside) if beside.is_file() else "dvc"
    result = subprocess.run([dvc, "exp", "show", "--json"], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PodiumError(f"`dvc exp show --json` failed in {repo}: {(result.stderr or result.stdout).strip()}")
    return json.loads(result.stdout)


def board(repo: Path, task: str, history: Path, out: Path, exp_show: list[dict] | None = None) -> dict:
    rows = board_rows(
        exp_show_json(repo) if exp_show is None else exp_show,
        task,
        read_json(history) if history.exists() else {},
        repo,
    )
    if not rows:
        raise PodiumError(f"{repo}: `dvc exp show` lists no revision with metrics; run `dvc repro` first")
    return draw(rows, task, out)
