"""`podium kaggle submit` and `podium board`: podium's logic around Kaggle, with a stand-in for the one client
object that reaches the network (KaggleClient, the official `kaggle` package)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from podium import cli
from podium.board import board, spearman
from podium.submission import kaggle_lb
from podium.submission.kaggle_lb import KaggleClient, KaggleError, Submission


class StandIn:
    """Kaggle as podium sees it: submissions listed newest first; each becomes scored after `delay` polls."""

    def __init__(self, public=0.71, delay=2, error=""):
        self.public, self.delay, self.error = public, delay, error
        self.submitted: list[tuple[str, str]] = []  # (competition, description)
        self.polls = 0

    def submit(self, competition, path, message):
        self.submitted.append((competition, message))

    def submissions(self, competition):
        self.polls += 1
        out = []
        for _, description in self.submitted:
            if self.error:
                out.append(Submission(description, "error", None, None, self.error, ""))
            elif self.polls > self.delay:
                out.append(Submission(description, "complete", self.public, None, "", "2026-11-29"))
            else:
                out.append(Submission(description, "pending", None, None, "", ""))
        return out[::-1]


def csv(tmp_path: Path, text="image_id,PredictionString\na,0.9 1 2 3 4\n") -> Path:
    path = tmp_path / "submissions" / "detection.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_submit_waits_for_the_score_and_records_it_by_sha256(tmp_path):
    client, path, history = StandIn(), csv(tmp_path), tmp_path / "history.json"
    entry = kaggle_lb.submit_and_record(
        client, "global-wheat-detection", path, history, task="detection", sleep=lambda s: None
    )
    digest = kaggle_lb.sha256(path)
    assert entry["public"] == 0.71 and entry["status"] == "complete"
    assert client.submitted == [("global-wheat-detection", f"sha256:{digest}")] and client.polls == 3
    assert json.loads(history.read_text())[digest]["public"] == 0.71
    # the same file again: not resubmitted (Kaggle's daily limit), the recorded score returned
    again = kaggle_lb.submit_and_record(client, "global-wheat-detection", path, history, task="detection")
    assert again["public"] == 0.71 and len(client.submitted) == 1
    scores = kaggle_lb.current_scores(path.parent, history, tmp_path / "scores.json")
    assert scores == {"detection": {"public": 0.71, "private": None}}


def test_a_slow_scoring_times_out_clearly_and_refresh_records_it_later(tmp_path):
    client, path, history = StandIn(delay=100), csv(tmp_path), tmp_path / "history.json"
    now = [0.0]

    def sleep(s):
        now[0] += s

    with pytest.raises(KaggleError, match=r"not scored .* within 30 s .*podium kaggle refresh"):
        kaggle_lb.submit_and_record(
            client, "c", path, history, task="detection", timeout_s=30, poll_s=10, sleep=sleep, clock=lambda: now[0]
        )
    assert json.loads(history.read_text())[kaggle_lb.sha256(path)]["status"] == "pending"
    client.delay = 0
    assert kaggle_lb.refresh(client, "c", history) == 1
    assert json.loads(history.read_text())[kaggle_lb.sha256(path)]["public"] == 0.71


def test_a_scoring_error_is_reported_with_kaggles_reason(tmp_path):
    client = StandIn(error="Submission has 3 rows, expected 10")
    with pytest.raises(KaggleError, match="expected 10"):
        kaggle_lb.submit_and_record(client, "c", csv(tmp_path), tmp_path / "h.json", task="detection")


def test_missing_credentials_are_one_clear_line(tmp_path):
    with pytest.raises(KaggleError, match=r"no Kaggle credentials: put your API token in .*kaggle.json"):
        KaggleClient(environ={}, home=tmp_path)


def test_the_cli_refuses_the_embedded_competition(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["kaggle", "submit", str(csv(tmp_path)), "--params", "params.yaml"])
    assert "competition.name is `embedded`" in capsys.readouterr().err


def test_the_real_client_reads_kaggle_2_submissions():
    """The attribute names KaggleClient reads exist on the installed kaggle's submission objects."""
    from kagglesdk.competitions.types.competition_api_service import ApiSubmission

    fields = {"description", "status", "public_score", "private_score", "error_description", "date"}
    assert fields <= {name for name in dir(ApiSubmission) if not name.startswith("_")}
    assert kaggle_lb._status(ApiSubmission().status) == "pending"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_board_puts_each_experiment_cv_local_and_public_lb_side_by_side(tmp_path):
    """Three DVC experiments made here (a one-stage project writing podium's report files); two submitted."""
    repo = tmp_path / "project"
    repo.mkdir()
    dvc = str(Path(sys.executable).parent / "dvc")
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@t")
    git(repo, "config", "user.name", "t")
    subprocess.run([dvc, "init", "-q"], cwd=repo, check=True)
    (repo / "params.yaml").write_text("x: 1\n")
    (repo / "gen.py").write_text(
        "import json, os, yaml\n"
        "x = yaml.safe_load(open('params.yaml'))['x']\n"
        "os.makedirs('reports', exist_ok=True); os.makedirs('submissions', exist_ok=True)\n"
        "json.dump({'detection': {'tuned': 0.1 * x}}, open('reports/ensemble.json', 'w'))\n"
        "json.dump({'detection': {'submission': 0.3 - 0.05 * x}}, open('reports/leaderboard.json', 'w'))\n"
        "open('submissions/detection.csv', 'w').write(f'image_id,PredictionString\\na,{x}\\n')\n"
    )
    (repo / "dvc.yaml").write_text(
        "stages:\n  s:\n    cmd: python gen.py\n    deps: [gen.py]\n    params: [x]\n"
        "    outs:\n    - submissions:\n        cache: false\n"
        "    metrics:\n    - reports/ensemble.json:\n        cache: false\n"
        "    - reports/leaderboard.json:\n        cache: false\n"
    )
    env_python = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    subprocess.run([dvc, "repro", "-q"], cwd=repo, check=True, env=env_python)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    for x, name in ((2, "two"), (3, "three")):
        subprocess.run([dvc, "exp", "run", "-q", "-S", f"x={x}", "-n", name], cwd=repo, check=True, env=env_python)
    history = repo / "history.json"
    for x, public in ((1, 0.5), (3, 0.7)):  # what `podium kaggle submit` recorded for two of the submissions
        digest = kaggle_lb.sha256_bytes(f"image_id,PredictionString\na,{x}\n".encode())
        kaggle_lb._record(history, digest, {"public": public, "status": "complete"})
    summary = board(repo, "detection", history, repo / "reports/kaggle/board.png")
    by_name = {r["name"]: r for r in summary["experiments"]}
    assert {"two", "three"} <= set(by_name)
    assert by_name["three"]["cv"] == pytest.approx(0.3) and by_name["three"]["local_lb"] == pytest.approx(0.15)
    assert by_name["three"]["public_lb"] == 0.7 and by_name["two"]["public_lb"] is None
    assert summary["rank_correlation"]["cv_vs_local_lb"] == pytest.approx(-1.0)  # the workspace is `three`
    assert (repo / "reports/kaggle/board.png").read_bytes()[:4] == b"\x89PNG"


def test_spearman_needs_three_points():
    assert spearman([1, 2], [2, 1]) is None
    assert spearman([1, 2, 3, None], [1, 2, 3, 4]) == pytest.approx(1.0)


def test_an_unknown_competition_is_one_line_naming_it(tmp_path):
    """The real client's error path, with the kaggle API object replaced by one that fails as the API does
    for a competition that does not exist (an HTTP 404)."""

    class NotFound:
        def competition_submit(self, *args, **kwargs):
            raise RuntimeError("404 Client Error: Not Found for url: https://www.kaggle.com/api/v1/competitions/nope")

        def competition_submissions(self, *args, **kwargs):
            raise RuntimeError("404 Client Error: Not Found")

    client = KaggleClient.__new__(KaggleClient)
    client.api = NotFound()
    with pytest.raises(KaggleError, match=r"^Kaggle refused the submission to 'nope': 404") as error:
        client.submit("nope", csv(tmp_path), "m")
    assert "\n" not in str(error.value)
    with pytest.raises(KaggleError, match=r"could not list your submissions to 'nope'"):
        client.submissions("nope")
