"""What every stage script shares: argument parsing and turning podium's errors into a clean exit."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from podium.errors import PodiumError


def parse_paths(doc: str | None, *names: str, **values: type) -> argparse.Namespace:
    """Parse `--name PATH` for each of `names` and `--key VALUE` for each of `values` (name -> type), all
    required, from argv, as dvc.yaml's cmd passes them."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    for name in names:
        parser.add_argument(f"--{name}", type=Path, required=True)
    for name, kind in values.items():
        parser.add_argument(f"--{name}", type=kind, required=True)
    return parser.parse_args()


def run(main: Callable[[], None]) -> None:
    """Call a stage's main(); a PodiumError (bad input the user can fix) prints one clear line, exit 2."""
    try:
        main()
    except PodiumError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def relaunch_with_torchrun(processes: int) -> None:
    """Re-run this stage under torchrun with `processes` workers (DDP), unless already under it. The dvc.yaml
    command stays the same whatever the number of GPUs."""
    if processes <= 1 or "LOCAL_RANK" in os.environ:
        return
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        sys.argv[0],
        *sys.argv[1:],
    ]
    print(f"launching {processes} processes: {' '.join(cmd)}", flush=True)
    sys.exit(subprocess.call(cmd))


def init_distributed(device: str) -> tuple[int, int]:
    """(rank, world size). Under torchrun, joins the process group: NCCL for cuda, gloo for cpu."""
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return int(os.environ.get("RANK", 0)), world
