"""`podium diff A.csv B.csv` (what changed between two submissions), `podium validate SUB.csv`
(the checks `submit` runs, on any submission file), `podium profile NAME` (a params profile, e.g. the GPU
server's or a competition's preset: printed as `dvc exp run` arguments, or written into params.yaml with
--apply), `podium kaggle submit SUB.csv` (submit to Kaggle, wait for the public score, record it) and
`podium board` (CV against local and public LB, one point per DVC experiment) and `podium doctor` (would this
machine reproduce the committed submissions byte for byte, and if not, why).

    podium diff submissions/detection.csv old/detection.csv --raw data/raw
    podium validate submissions/audio.csv --raw data/raw
    podium profile gpu [--apply]
    podium kaggle submit submissions/detection.csv [--timeout 600]
    podium kaggle refresh
    podium board [--task detection]
    podium doctor [--submissions submissions]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import shutil
import sys
from pathlib import Path

import pandas as pd

from podium.data.layout import IMAGE_SUFFIXES, list_files
from podium.errors import PodiumError
from podium.files import read_json
from podium.submission import diff_audio, diff_detection, parse_detection, validate_audio, validate_detection
from podium.submission.formats import read_original_sizes
from podium.submission.leaderboard import image_sizes

HISTORY = "reports/kaggle/history.json"  # every submission's Kaggle scores, by sha256
SCORES = "reports/kaggle/scores.json"  # the scores of the CSVs now in submissions/ (dvc.yaml: metrics)


def _kaggle(args) -> None:
    from podium.submission import kaggle_lb

    competition = _competition(args.params)
    if competition.name == "embedded":
        raise PodiumError(
            f"{args.params}: competition.name is `embedded`, podium's own competition, which is not on Kaggle; "
            "set it to the competition's URL name (or apply its preset: podium profile <name> --apply)"
        )
    client = kaggle_lb.KaggleClient()
    if args.action == "submit":
        if args.submission is None or not args.submission.is_file():
            raise PodiumError(
                f"{args.submission}: no such submission file (podium kaggle submit submissions/<task>.csv)"
            )
        entry = kaggle_lb.submit_and_record(
            client, competition.name, args.submission, args.history, task=args.submission.stem,
            message=args.message, timeout_s=args.timeout, poll_s=args.poll,
        )  # fmt: skip
        print(f"{args.submission}: public LB {entry['public']}, private LB {entry['private']} ({args.history})")
    else:
        print(f"{kaggle_lb.refresh(client, competition.name, args.history)} submission(s) updated in {args.history}")
    scores = kaggle_lb.current_scores(args.submission.parent if args.submission else Path("submissions"),
                                      args.history, args.scores)  # fmt: skip
    print(f"{args.scores}: {scores}")


def _doctor(args) -> bool:
    """Print, per submission manifest, whether this machine would reproduce it; True when all would."""
    from podium import devices
    from podium.params import load_params

    numerics = load_params(args.params)["numerics"]
    try:
        devices.pin_numerics(numerics)
        refused = None
    except PodiumError as e:
        refused = str(e)
    import torch

    here = {"cpu": devices.numeric_environment(numerics, torch.device("cpu"))}
    if torch.cuda.is_available():
        here["cuda"] = devices.numeric_environment(numerics, torch.device("cuda"))
    print("this machine:", json.dumps(here))
    manifests = sorted(args.submissions.glob("*.manifest.json"))
    if not manifests:
        raise PodiumError(f"{args.submissions}: no *.manifest.json here; run `dvc repro` first, or pass --submissions")
    ok = True
    for path in manifests:
        recorded = read_json(path).get("numerics")
        if not recorded:
            problems = ["records no numeric environment (made by an older podium); rerun the pipeline"]
        else:
            problems = [refused] if refused else []
            for env in recorded:
                problems += devices.reproduction_problems(env, here.get(env.get("device"), {}))
        ok &= not problems
        print(f"{path}: " + ("reproducible here" if not problems else "would differ here:"))
        for problem in dict.fromkeys(problems):
            print(f"  - {problem}")
    return ok


def _competition(params: Path):
    from podium.params import load_params

    return load_params(params)["competition"]


def _kind(table: pd.DataFrame, path: Path, competition) -> str:
    """Which of the competition's tasks a submission is, by its columns."""
    columns = {t: [getattr(competition, t).id_column, getattr(competition, t).column] for t in competition.tasks}
    for task, names in columns.items():
        if list(table.columns) == names:
            return task
    raise PodiumError(
        f"{path}: columns {list(table.columns)} are none of competition {competition.name!r}'s: "
        + ", ".join(f"{t} ({','.join(c)})" for t, c in columns.items())
    )


def _detection_context(raw: Path) -> tuple[list[str], dict]:
    try:
        coco = read_json(raw / "detection/train/annotations.json")
    except (OSError, ValueError) as e:
        raise PodiumError(f"{e}; --raw must name the competition's data folder (data/raw)") from None
    classes = [c["name"] for c in coco["categories"]]
    originals = read_original_sizes(raw / "detection/test/original_sizes.csv")  # an adapter resized them
    return classes, originals or image_sizes(list_files(raw / "detection/test/images", IMAGE_SUFFIXES))


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    diff = sub.add_parser("diff", help="compare two submissions of the same task")
    diff.add_argument("a", type=Path)
    diff.add_argument("b", type=Path)
    diff.add_argument("--raw", type=Path, default=Path("data/raw"), help="competition data (classes, image sizes)")
    diff.add_argument("--iou", type=float, default=0.5, help="IoU for two boxes to count as the same object")
    diff.add_argument("--score", type=float, default=0.3, help="ignore boxes scoring below this")
    diff.add_argument("--params", type=Path, default=Path("params.yaml"), help="the competition's format")
    check = sub.add_parser("validate", help="check a submission against the sample submission")
    check.add_argument("submission", type=Path)
    check.add_argument("--raw", type=Path, default=Path("data/raw"))
    check.add_argument("--params", type=Path, default=Path("params.yaml"), help="the competition's format")
    profile = sub.add_parser("profile", help="a params profile (profiles/NAME.yaml) as dvc exp run -S arguments")
    profile.add_argument("name", help="gpu, or the path of a profile .yaml")
    profile.add_argument("--params", type=Path, default=Path("params.yaml"))
    profile.add_argument("--apply", action="store_true", help="write the profile's values into --params")
    profile.add_argument(
        "--reports", type=Path, default=Path("reports"), help="--apply removes the reports of models no longer listed"
    )
    kaggle = sub.add_parser("kaggle", help="submit to Kaggle and record the leaderboard's answer")
    kaggle.add_argument("action", choices=["submit", "refresh"])
    kaggle.add_argument("submission", type=Path, nargs="?", help="submit: the CSV (submissions/<task>.csv)")
    kaggle.add_argument("--params", type=Path, default=Path("params.yaml"), help="competition.name")
    kaggle.add_argument("--message", default="", help="submission description (podium adds the file's sha256)")
    kaggle.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the score")
    kaggle.add_argument("--poll", type=float, default=10.0, help="seconds between polls")
    kaggle.add_argument("--history", type=Path, default=Path(HISTORY))
    kaggle.add_argument("--scores", type=Path, default=Path(SCORES))
    board = sub.add_parser("board", help="CV vs local LB vs public LB over the DVC experiments, as a PNG")
    board.add_argument("--task", default="detection")
    board.add_argument("--history", type=Path, default=Path(HISTORY))
    board.add_argument("--out", type=Path, default=Path("reports/kaggle/board.png"))
    doctor = sub.add_parser("doctor", help="would this machine reproduce the submissions' bytes? (numerics)")
    doctor.add_argument("--params", type=Path, default=Path("params.yaml"), help="numerics: the mode to check")
    doctor.add_argument("--submissions", type=Path, default=Path("submissions"), help="the *.manifest.json to check")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "kaggle":
            _kaggle(args)
        elif args.command == "doctor":
            sys.exit(0 if _doctor(args) else 1)
        elif args.command == "board":
            from podium.board import board as draw_board

            summary = draw_board(Path.cwd(), args.task, args.history, args.out)
            rho = summary["rank_correlation"]
            print(f"{args.out}: {len(summary['experiments'])} experiments; Spearman CV vs local LB "
                  f"{rho['cv_vs_local_lb']}, CV vs public LB {rho['cv_vs_public_lb']}")  # fmt: skip
        elif args.command == "profile":
            from podium import profiles

            path = profiles.profile_path(args.name)
            if args.apply:
                profiles.apply(args.params, path)
                print(f"{args.params}: {path} applied (now `dvc repro`, or `git diff {args.params}` to review)")
                for folder in profiles.unlisted_reports(args.params, args.reports):
                    shutil.rmtree(folder)
                    print(f"{folder}: removed (its model is no longer listed in {args.params}'s models)")
            else:
                sets = profiles.set_arguments(path, args.params)
                print(shlex.join(["dvc", "exp", "run", *(a for s in sets for a in ("-S", s))]))
        elif args.command == "diff":
            a, b, competition = _read(args.a), _read(args.b), _competition(args.params)
            if _kind(a, args.a, competition) != _kind(b, args.b, competition):
                raise PodiumError(f"{args.a} and {args.b} are submissions of different tasks")
            if _kind(a, args.a, competition) == "audio":
                fmt = competition.audio
                result = diff_audio(a, b, fmt.id_column, fmt.column)
            else:
                classes, sizes = _detection_context(args.raw)
                with _about(args.a):
                    preds_a = parse_detection(a, classes, sizes, competition.detection)
                with _about(args.b):
                    preds_b = parse_detection(b, classes, sizes, competition.detection)
                result = diff_detection(preds_a, preds_b, args.iou, args.score)
            print(json.dumps(result, indent=2))
        else:
            table, competition = _read(args.submission), _competition(args.params)
            kind = _kind(table, args.submission, competition)
            sample = _read(args.raw / kind / "sample_submission.csv")
            if kind == "audio":
                labels = sorted(_read(args.raw / "audio/train/labels.csv").label.unique())
                with _about(args.submission):
                    validate_audio(table, sample, labels, competition.audio)
            else:
                classes, sizes = _detection_context(args.raw)
                with _about(args.submission):
                    validate_detection(table, sample, classes, sizes, competition.detection)
            print(f"{args.submission}: valid {kind} submission, {len(table)} rows")
    except PodiumError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
