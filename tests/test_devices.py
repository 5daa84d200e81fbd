"""The numeric environment: what exact pins, what it refuses, and what `podium doctor` says about a result."""

import json
import os
import subprocess
import sys

import pytest
import torch

from podium import cli, devices
from podium.params import load_params
from podium.settings import Numerics

# three optimiser steps of a conv + batch norm + linear net; prints the weights' hash and the recorded environment
PROBE = """
import hashlib, json, sys
import torch
from podium import devices
from podium.settings import Numerics
numerics = Numerics(mode=sys.argv[1], threads=2)
devices.pin_numerics(numerics)
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.BatchNorm2d(16), torch.nn.ReLU(), torch.nn.Flatten(),
                          torch.nn.Linear(16 * 30 * 30, 10))
x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
opt = torch.optim.AdamW(net.parameters(), 1e-3)
for _ in range(3):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in net.parameters())).hexdigest()
print(json.dumps({"hash": digest, "env": devices.numeric_environment(numerics, torch.device("cpu"))}))
"""


def _probe(mode: str, env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    return json.loads(result.stdout)


def test_exact_gives_the_same_weights_whatever_the_machine_defaults(other_machine):
    plain, other = _probe("exact", {}), _probe("exact", other_machine)
    assert plain == other
    assert plain["env"]["cpu_capability"] == "AVX2" and plain["env"]["threads"] == 2


def test_fast_depends_on_the_machine_which_is_why_exact_exists(other_machine):
    """Documents the problem: the machine's own kernels and thread count change the weights (measured on an
    AVX-512 machine with 2 cores; on an AVX2 machine with one core only the thread count would differ)."""
    plain, other = _probe("fast", {}), _probe("fast", other_machine)
    assert plain["hash"] != other["hash"]
    assert other["env"]["threads"] == 1 and other["env"]["mode"] == "fast"


def test_exact_refuses_a_torch_that_already_chose_other_kernels():
    script = (
        "import torch; torch.ones(4).sum()\n"
        "from podium import devices; from podium.settings import Numerics\n"
        "devices.pin_numerics(Numerics(mode='exact', threads=1))"
    )
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "already chose its DEFAULT kernels" in result.stderr


def _here() -> dict:
    return devices.numeric_environment(load_params("params.yaml")["numerics"], torch.device("cpu"))


def test_reproduction_problems_name_each_difference():
    here = _here()
    assert devices.reproduction_problems(here, here) == []
    there = {**here, "torch": "2.13.0+cpu", "threads": 4}
    problems = devices.reproduction_problems(there, here)
    assert problems == [
        f"threads: 4 there, {here['threads']} here (reductions are split by thread count)",
        f"torch: 2.13.0+cpu there, {here['torch']} here (another torch build has other kernels)",
    ]
    assert "only a machine with the same CPU ISA" in devices.reproduction_problems({**here, "mode": "fast"}, here)[0]
    gpu = {**here, "device": "cuda", "gpu": "NVIDIA H200"}
    assert "gpu: NVIDIA H200 there, none here" in devices.reproduction_problems(gpu, {})[-1]


@pytest.mark.parametrize(
    "recorded, code, said",
    [
        ("same", 0, "reproducible here"),
        ("older torch", 1, "torch: 2.13.0 there"),
        ("fast", 1, "made in numerics.mode fast"),
        ("none", 1, "records no numeric environment"),
    ],
)
def test_doctor_says_whether_this_machine_reproduces_each_submission(tmp_path, capsys, recorded, code, said):
    here = _here()
    numerics = {
        "same": [here],
        "older torch": [here, {**here, "torch": "2.13.0"}],
        "fast": [{**here, "mode": "fast"}],
        "none": None,
    }[recorded]
    manifest = {"git_commit": "abc", **({"numerics": numerics} if numerics else {})}
    (tmp_path / "detection.manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["doctor", "--submissions", str(tmp_path)])
    out = capsys.readouterr().out
    assert exit_.value.code == code and said in out and "detection.manifest.json" in out


def test_numerics_threads_are_bounded():
    with pytest.raises(ValueError, match="threads must be"):
        Numerics(mode="exact", threads=0)
