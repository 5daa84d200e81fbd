"""Shared fixtures: the real params.yaml, shrunk so every stage runs in seconds."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from podium.devices import pin_numerics
from podium.params import load_params

ROOT = Path(__file__).resolve().parents[1]
# In-process tests compute the way the stages do (params' numerics), pinned before any test runs torch.
pin_numerics(load_params(ROOT / "params.yaml")["numerics"])

# The variables another machine would differ in: a wider ISA chosen for every library that dispatches on it,
# one thread. In numerics.mode exact a stage must give the same bytes under them as without them.
OTHER_MACHINE = {
    "ATEN_CPU_CAPABILITY": "avx512",
    "ONEDNN_MAX_CPU_ISA": "AVX512_CORE",
    "MKL_CBWR": "AUTO",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

TINY = {
    "download": {
        "detection_train_images": 12,
        "detection_test_images": 4,
        "image_size": 64,
        "audio_train_per_word": 2,
        "audio_test_per_word": 1,
        "noise_clips": 2,
    },
    "split_folds": {"folds": [0, 1]},
    "augment": {"detection_clones": 1, "audio_clones": 1, "workers": 1, "preview": 2},
    "models": {"detection": ["vfnet"], "audio": ["small_cnn"]},
    "train_audio": {"epochs": 1, "batch_size": 4, "device": "cpu"},
    "train_detector": {
        "epochs": 1,
        "batch_size": 4,
        "image_size": 64,
        "base_channels": 8,
        "neck_channels": 32,
        "device": "cpu",
        "warmup_iters": 2,
    },
}


def shrink(params: dict, overrides: dict) -> dict:
    out = {k: dict(v) for k, v in params.items()}
    for section, values in overrides.items():
        out[section].update(values)
    return out


def write_tiny_params(folder: Path, **overrides: dict) -> Path:
    """params.yaml with the real keys, tiny sizes, and `overrides` ({section: {key: value}}) applied."""
    params = shrink(shrink(yaml.safe_load((ROOT / "params.yaml").read_text()), TINY), overrides)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.fixture
def tiny_params(tmp_path: Path) -> Path:
    """A params.yaml with the real keys and tiny sizes."""
    return write_tiny_params(tmp_path)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """The embedded competition at tiny size, through download, merge_external, split_folds and augment, made
    once per session: <root>/{raw,merged,folds,augmented,reports}. Tests must not modify it."""
    root = tmp_path_factory.mktemp("tiny_data")
    params = write_tiny_params(root)
    (root / "external").mkdir()
    _run_stage("download", "--params", params, "--out", root / "raw")
    _run_stage(
        "merge_external",
        "--params",
        params,
        "--raw",
        root / "raw",
        "--external",
        root / "external",
        "--out",
        root / "merged",
    )
    _run_stage("split_folds", "--params", params, "--merged", root / "merged", "--out", root / "folds")
    _run_stage(
        "augment",
        "--params",
        params,
        "--folds",
        root / "folds",
        "--merged",
        root / "merged",
        "--noise",
        root / "raw/audio/noise",
        "--out",
        root / "augmented",
        "--reports",
        root / "reports/augment",
    )
    return root


@pytest.fixture
def params_factory(tmp_path: Path):
    """params_factory(**{section: {key: value}}) -> a tiny params.yaml with those changes, in tmp_path."""
    return lambda **overrides: write_tiny_params(tmp_path, **overrides)


def _run_stage(
    name: str, *args: str | Path, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "stages" / f"{name}.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"stage {name} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def write_params():
    """write_params(folder, **overrides) -> a tiny params.yaml in `folder` (for module-scoped fixtures)."""
    return write_tiny_params


@pytest.fixture(scope="session")
def run_stage():
    """run_stage(name, *args, check=True, env=None): run stages/<name>.py in a subprocess, as dvc.yaml would
    (`env`: variables added to this process's environment)."""
    return _run_stage


@pytest.fixture
def served(tmp_path):
    """An HTTP server on 127.0.0.1 serving the files of tmp_path, shut down after the test."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _Payload:
    """Unpickled in full, it creates the file `marker`: what a malicious checkpoint could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="session")
def malicious_checkpoint():
    """malicious_checkpoint(path, marker) -> path: a torch file with a state dict and a payload that creates
    `marker` if the file is unpickled in full."""
    import torch

    def make(path: Path, marker: Path) -> Path:
        torch.save({"state_dict": {"backbone.conv1.weight": torch.zeros(1)}, "x": _Payload(marker)}, path)
        return path

    return make


@pytest.fixture(scope="session")
def other_machine() -> dict:
    """Environment variables that emulate another machine's numeric defaults (OTHER_MACHINE)."""
    return dict(OTHER_MACHINE)


@pytest.fixture(scope="session")
def miniatures():
    """tests/miniatures.py: fabricated miniatures of real competitions' downloads."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("miniatures", ROOT / "tests/miniatures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pipeline_stages() -> dict[str, dict]:
    """Every stage of both pipeline files, by name (before the @ expansion), as written: dvc.yaml (what `dvc
    repro` runs) and lr_find/dvc.yaml (the LR range tests, run on demand)."""
    stages = {}
    for pipeline in ("dvc.yaml", "lr_find/dvc.yaml"):
        stages.update(yaml.safe_load((ROOT / pipeline).read_text())["stages"])
    return stages
