"""Shared fixtures: the real params.yaml, shrunk so every stage runs in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "download": {"detection_train_images": 12, "detection_test_images": 4, "image_size": 64,
                 "audio_train_per_word": 2, "audio_test_per_word": 1, "noise_clips": 2},
    "split_folds": {"n_folds": 2},
}


def shrink(params: dict, overrides: dict) -> dict:
    out = {k: dict(v) for k, v in params.items()}
    for section, values in overrides.items():
        out[section].update(values)
    return out


@pytest.fixture
def tiny_params(tmp_path: Path) -> Path:
    """A params.yaml with the real keys and tiny sizes."""
    params = shrink(yaml.safe_load((ROOT / "params.yaml").read_text()), TINY)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _run_stage(name: str, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, str(ROOT / "stages" / f"{name}.py"), *map(str, args)],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    if check and result.returncode != 0:
        raise AssertionError(f"stage {name} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def run_stage():
    """run_stage(name, *args, check=True): run stages/<name>.py in a subprocess, as dvc.yaml would."""
    return _run_stage
