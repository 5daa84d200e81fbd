"""`podium diff A.csv B.csv` (what changed between two submissions), `podium validate SUB.csv`
(the checks `submit` runs, on any submission file) and `podium profile NAME` (a params profile, e.g. the GPU
server's: printed as `dvc exp run` arguments, or written into params.yaml with --apply).

    podium diff submissions/detection.csv old/detection.csv --raw data/raw
    podium validate submissions/audio.csv --raw data/raw
    podium profile gpu [--apply]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
from pathlib import Path

import pandas as pd

from podium.data.layout import IMAGE_SUFFIXES, list_files
from podium.errors import PodiumError
from podium.files import read_json
from podium.submission import diff_audio, diff_detection, parse_detection, validate_audio, validate_detection
from podium.submission.leaderboard import image_sizes


def _kind(table: pd.DataFrame, path: Path) -> str:
    if list(table.columns) == ["image_id", "PredictionString"]:
        return "detection"
    if list(table.columns) == ["fname", "label"]:
        return "audio"
    raise PodiumError(
        f"{path}: columns {list(table.columns)} are neither detection (image_id,PredictionString) "
        "nor audio (fname,label)"
    )


def _detection_context(raw: Path) -> tuple[list[str], dict]:
    try:
        coco = read_json(raw / "detection/train/annotations.json")
    except (OSError, ValueError) as e:
        raise PodiumError(f"{e}; --raw must name the competition's data folder (data/raw)") from None
    classes = [c["name"] for c in coco["categories"]]
    return classes, image_sizes(list_files(raw / "detection/test/images", IMAGE_SUFFIXES))


@contextlib.contextmanager
def _about(path: Path):
    """A submission's problem, with the file it is in."""
    try:
        yield
    except PodiumError as e:
        raise PodiumError(f"{path}: {e}") from None


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, keep_default_na=False)
    except FileNotFoundError:
        raise PodiumError(f"{path}: file not found") from None
    except pd.errors.EmptyDataError:
        raise PodiumError(f"{path}: empty file; a submission has a header row and one row per test sample") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise PodiumError(f"{path}: not a readable CSV ({e})") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="podium", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    diff = sub.add_parser("diff", help="compare two submissions of the same task")
    diff.add_argument("a", type=Path)
    diff.add_argument("b", type=Path)
    diff.add_argument("--raw", type=Path, default=Path("data/raw"), help="competition data (classes, image sizes)")
    diff.add_argument("--iou", type=float, default=0.5, help="IoU for two boxes to count as the same object")
    diff.add_argument("--score", type=float, default=0.3, help="ignore boxes scoring below this")
    check = sub.add_parser("validate", help="check a submission against the sample submission")
    check.add_argument("submission", type=Path)
    check.add_argument("--raw", type=Path, default=Path("data/raw"))
    profile = sub.add_parser("profile", help="a params profile (profiles/NAME.yaml) as dvc exp run -S arguments")
    profile.add_argument("name", help="gpu, or the path of a profile .yaml")
    profile.add_argument("--params", type=Path, default=Path("params.yaml"))
    profile.add_argument("--apply", action="store_true", help="write the profile's values into --params")
    args = parser.parse_args(argv)
    try:
        if args.command == "profile":
            from podium import profiles

            path = profiles.profile_path(args.name)
            if args.apply:
                profiles.apply(args.params, path)
                print(f"{args.params}: {path} applied (now `dvc repro`, or `git diff {args.params}` to review)")
            else:
                sets = profiles.set_arguments(path, args.params)
                print(shlex.join(["dvc", "exp", "run", *(a for s in sets for a in ("-S", s))]))
        elif args.command == "diff":
            a, b = _read(args.a), _read(args.b)
            if _kind(a, args.a) != _kind(b, args.b):
                raise PodiumError(f"{args.a} and {args.b} are submissions of different tasks")
            if _kind(a, args.a) == "audio":
                result = diff_audio(a, b)
            else:
                classes, sizes = _detection_context(args.raw)
                with _about(args.a):
                    preds_a = parse_detection(a, classes, sizes)
                with _about(args.b):
                    preds_b = parse_detection(b, classes, sizes)
                result = diff_detection(preds_a, preds_b, args.iou, args.score)
            print(json.dumps(result, indent=2))
        else:
            table = _read(args.submission)
            kind = _kind(table, args.submission)
            sample = _read(args.raw / kind / "sample_submission.csv")
            if kind == "audio":
                labels = sorted(_read(args.raw / "audio/train/labels.csv").label.unique())
                with _about(args.submission):
                    validate_audio(table, sample, labels)
            else:
                classes, sizes = _detection_context(args.raw)
                with _about(args.submission):
                    validate_detection(table, sample, classes, sizes)
            print(f"{args.submission}: valid {kind} submission, {len(table)} rows")
    except PodiumError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
