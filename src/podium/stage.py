"""What every stage script shares: argument parsing and turning podium's errors into a clean exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from podium.errors import PodiumError


def parse_paths(doc: str | None, *names: str) -> argparse.Namespace:
    """Parse `--name PATH` for each name (all required) from argv, as dvc.yaml's cmd passes them."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    for name in names:
        parser.add_argument(f"--{name}", type=Path, required=True)
    return parser.parse_args()


def run(main: Callable[[], None]) -> None:
    """Call a stage's main(); a PodiumError (bad input the user can fix) prints one clear line, exit 2."""
    try:
        main()
    except PodiumError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
