"""The DVC graph itself: `dvc repro` on a copy of the project with tiny params, rerun behaviour."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA_STAGES = ["download", "merge_external", "split_folds"]


def _sh(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "PYTHONPATH": str(cwd / "src"), "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _copy_project(tmp_path, tiny_params, stages: list[str] | None):
    dst = tmp_path / "project"
    for name in ["src", "stages", "data/external", ".dvc/config", ".dvcignore"]:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, dst / name)
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    if stages is not None:
        spec["stages"] = {k: v for k, v in spec["stages"].items() if k in stages}
    (dst / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    shutil.copy(tiny_params, dst / "params.yaml")
    _sh(["git", "init", "-q"], dst)
    _sh(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", "--allow-empty"], dst)
    return dst


@pytest.fixture
def project(tmp_path, tiny_params):
    """A git + DVC copy of the project limited to the data stages, with tiny params."""
    return _copy_project(tmp_path, tiny_params, DATA_STAGES)


def _ran(output: str) -> list[str]:
    return [s for s in DATA_STAGES if f"Running stage '{s}'" in output]


def test_repro_then_nothing_then_only_what_changed(project):
    assert _ran(_sh(["dvc", "repro"], project)) == DATA_STAGES
    assert (project / "data/folds/detection.csv").exists()
    assert _ran(_sh(["dvc", "repro"], project)) == []
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["split_folds"]["folds"] = [0, 1, 2]
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert _ran(_sh(["dvc", "repro"], project)) == ["split_folds"]
    params["common"]["seed"] += 1  # split_folds reads common.seed; download reads all of common
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert _ran(_sh(["dvc", "repro"], project)) == DATA_STAGES


@pytest.mark.slow
def test_whole_pipeline_on_tiny_params(tmp_path, tiny_params):
    """Every stage of dvc.yaml end to end; then a training knob makes exactly its training stages stale."""
    project = _copy_project(tmp_path, tiny_params, None)
    _sh(["dvc", "repro"], project)
    assert (project / "reports/detection/vfnet/cv.json").exists() and (project / "oof/audio/small_cnn.csv").exists()
    assert "up to date" in _sh(["dvc", "status"], project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train_detector"]["lr"] = 0.001
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    stale = {line.strip().rstrip(":") for line in _sh(["dvc", "status"], project).splitlines()
             if line and not line.startswith(("\t", " "))}
    assert stale == {"train_detector@vfnet-0", "train_detector@vfnet-1"}
