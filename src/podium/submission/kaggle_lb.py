"""The leaderboard's answer, recorded: submit a CSV to Kaggle, wait for its score, keep it by the file's sha256.

`KaggleClient` is the one object that talks to Kaggle (the official `kaggle` package, kaggle 2.x:
`KaggleApi.competition_submit(file_name, message, competition)` and `competition_submissions(competition)`, whose
items carry `description`, `status` (PENDING / COMPLETE / ERROR), `public_score`, `private_score` as strings,
`error_description`; kaggle 1.6 named them camelCase, read too). Everything else here is podium's logic, tested
with a stand-in client:

- `submit_and_record` submits with a description that carries the file's sha256, polls until Kaggle has
  scored it (bounded: a clear timeout error, the submission stays on Kaggle and `refresh` records it later), and
  writes the score into the history file (reports/kaggle/history.json, keyed by sha256);
- `refresh` polls every recorded submission of a competition again (pending ones, and private scores once the
  competition ends);
- `current_scores` writes reports/kaggle/scores.json: the public/private score of the submission CSVs now in
  submissions/, the metrics file dvc.yaml declares, so `dvc exp show` puts the public LB beside CV and local LB.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from podium.errors import PodiumError
from podium.files import read_json, write_json


class KaggleError(PodiumError, RuntimeError):
    """Kaggle refused, failed or did not answer in time."""


@dataclass(frozen=True)
class Submission:
    description: str
    status: str  # pending | complete | error
    public_score: float | None
    private_score: float | None
    error: str
    date: str


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256(path: Path) -> str:
    """A submission's key in the history: the sha256 of its bytes."""
    return sha256_bytes(Path(path).read_bytes())


def _score(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _status(value) -> str:
    """kaggle 2.x: SubmissionStatus.COMPLETE (an enum); 1.6: 'complete'."""
    return str(getattr(value, "name", value)).rsplit(".", 1)[-1].lower()


class KaggleClient:
    """The official `kaggle` package, authenticated once; the only code here that reaches the network."""

    def __init__(self, environ: Mapping[str, str] = os.environ, home: Path | None = None):
        home = Path.home() if home is None else home
        config = Path(environ.get("KAGGLE_CONFIG_DIR", home / ".kaggle")) / "kaggle.json"
        if not (environ.get("KAGGLE_USERNAME") and environ.get("KAGGLE_KEY")) and not config.is_file():
            raise KaggleError(
                f"no Kaggle credentials: put your API token in {config} (chmod 600) or set KAGGLE_USERNAME and "
                "KAGGLE_KEY; see https://www.kaggle.com/docs/api"
            )
        from kaggle.api.kaggle_api_extended import KaggleApi

        self.api = KaggleApi()
        try:
            self.api.authenticate()
        except (Exception, SystemExit) as e:  # kaggle prints and exits on bad credentials
            raise KaggleError(f"Kaggle refused the credentials in {config} or the environment: {e}") from None

    def submit(self, competition: str, path: Path, message: str) -> None:
        try:
            result = self.api.competition_submit(str(path), message, competition, quiet=True)
        except Exception as e:  # the API's HTTP errors: unknown competition, rules not accepted, daily limit
            raise KaggleError(f"Kaggle refused the submission to {competition!r}: {e}") from None
        message = getattr(result, "message", "") or ""
        if "could not" in message.lower() or "fail" in message.lower():
            raise KaggleError(f"Kaggle refused the submission to {competition!r}: {message}")

    def submissions(self, competition: str) -> list[Submission]:
        try:
            items = self.api.competition_submissions(competition) or []
        except Exception as e:
            raise KaggleError(f"could not list your submissions to {competition!r}: {e}") from None

        def field(item, snake: str, camel: str):
            return getattr(item, snake, None) if hasattr(item, snake) else getattr(item, camel, None)

        return [
            Submission(
                description=str(field(s, "description", "description") or ""),
                status=_status(field(s, "status", "status")),
                public_score=_score(field(s, "public_score", "publicScore")),
                private_score=_score(field(s, "private_score", "privateScore")),
                error=str(field(s, "error_description", "errorDescription") or ""),
                date=str(field(s, "date", "date") or ""),
            )
            for s in items
            if s is not None
        ]


def _find(submissions: list[Submission], digest: str) -> Submission | None:
    tag = f"sha256:{digest}"
    return next((s for s in submissions if tag in s.description), None)


def _record(history: Path, digest: str, entry: dict) -> None:
    data = read_json(history) if history.exists() else {}
    data[digest] = {**data.get(digest, {}), **entry}
    write_json(history, data)


def submit_and_record(
    client,
    competition: str,
    path: Path,
    history: Path,
    *,
    task: str,
    message: str = "",
    timeout_s: float = 600.0,
    poll_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Submit `path`, wait up to `timeout_s` for Kaggle's score, record it under the file's sha256 in
    `history`; the recorded entry. A file already scored is not submitted again (daily limits)."""
    digest = sha256(path)
    known = read_json(history).get(digest) if history.exists() else None
    if known and known.get("status") == "complete":
        return known
    entry = {"competition": competition, "task": task, "file": str(path), "status": "pending"}
    if not known:
        client.submit(competition, path, f"{message} sha256:{digest}".strip())
        _record(history, digest, entry)
    start = clock()
    while True:
        found = _find(client.submissions(competition), digest)
        if found and found.status == "error":
            _record(history, digest, {**entry, "status": "error", "error": found.error})
            raise KaggleError(f"Kaggle could not score {path}: {found.error or 'no reason given'}")
        if found and found.status == "complete":
            done = {
                **entry,
                "status": "complete",
                "public": found.public_score,
                "private": found.private_score,
                "date": found.date,
            }
            _record(history, digest, done)
            return done
        if clock() - start >= timeout_s:
            raise KaggleError(
                f"Kaggle has not scored {path} within {timeout_s:.0f} s (it is submitted, sha256 {digest[:12]}...); "
                "run `podium kaggle refresh` later to record its score"
            )
        sleep(poll_s)


def refresh(client, competition: str, history: Path) -> int:
    """Poll Kaggle once for every recorded submission of `competition`; the number of entries updated."""
    if not history.exists():
        return 0
    data, changed = read_json(history), 0
    listed = client.submissions(competition)
    for digest, entry in data.items():
        if entry.get("competition") != competition or not (found := _find(listed, digest)):
            continue
        update = {"status": found.status, "public": found.public_score, "private": found.private_score}
        if any(entry.get(k) != v for k, v in update.items()):
            data[digest] = {**entry, **update}
            changed += 1
    if changed:
        write_json(history, data)
    return changed


def current_scores(submissions: Path, history: Path, out: Path) -> dict:
    """{task: {"public", "private"}} of the submission CSVs in `submissions` (detection.csv, audio.csv) as
    recorded in `history` (null when not submitted or not scored yet), written to `out`."""
    data = read_json(history) if history.exists() else {}
    scores = {}
    for csv in sorted(Path(submissions).glob("*.csv")):
        entry = data.get(sha256(csv), {})
        scores[csv.stem] = {"public": entry.get("public"), "private": entry.get("private")}
    write_json(out, scores)
    return scores
