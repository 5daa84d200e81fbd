"""benchmarks/gpu_check.py: on this CPU machine it refuses clearly, and its whole path (profile, training
steps with training's optimiser wrapper, TTA prediction, the table) runs with a tiny profile on the CPU."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks/gpu_check.py"
TINY_PROFILE = """
models: {detection: [vfnet], audio: [small_cnn]}
train_detector: {image_size: 64, backbone_depth: 18, base_channels: 8, neck_channels: 32, batch_size: 2, amp: true}
predict_detector: {tta_views: [original, hflip], batch_size: 2}
train_audio: {batch_size: 4}
predict_audio: {batch_size: 8}
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason="the no-CUDA message needs a machine without CUDA")
def test_without_cuda_it_says_it_needs_cuda():
    result = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
    assert result.returncode == 2 and "needs a CUDA GPU" in result.stderr


def test_its_path_runs_on_the_cpu_with_a_tiny_profile(tmp_path):
    profile = tmp_path / "tiny.yaml"
    profile.write_text(TINY_PROFILE)
    args = ["--device", "cpu", "--profile", str(profile), "--steps", "1", "--images", "2", "--clips", "8"]
    result = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout.splitlines()
    assert table[-2].startswith("vfnet ") and "img/s" in table[-2] and "(2 views)" in table[-2]
    assert table[-1].startswith("small_cnn ") and "clips/s" in table[-1] and "(6 views)" in table[-1]
