"""One smoke test per data stage: the real stage script on tiny params, into tmp_path."""

import json

import pandas as pd
import pytest
import yaml

from podium.files import sha256_file


def _raw(tmp_path, tiny_params, run_stage):
    run_stage("download", "--params", tiny_params, "--out", tmp_path / "raw")
    return tmp_path / "raw"


def test_download_writes_the_canonical_layout_deterministically(tmp_path, tiny_params, run_stage):
    raw = _raw(tmp_path, tiny_params, run_stage)
    manifest = json.loads((raw / "manifest.json").read_text())
    assert manifest["detection"] == {"train": 12, "test": 4} and manifest["audio"] == {"train": 20, "test": 10}
    assert manifest["params"]["download"]["image_size"] == 64
    sub = pd.read_csv(raw / "detection/sample_submission.csv", keep_default_na=False)
    assert list(sub.columns) == ["image_id", "PredictionString"] and len(sub) == 4
    assert len(list((raw / "audio/noise").glob("*.wav"))) == 2
    run_stage("download", "--params", tiny_params, "--out", tmp_path / "again")
    files = sorted(p.relative_to(raw) for p in raw.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*") if p.is_file())
    assert all(sha256_file(raw / f) == sha256_file(tmp_path / "again" / f) for f in files)


def test_failed_download_leaves_no_output(tmp_path, tiny_params, run_stage):
    params = yaml.safe_load(tiny_params.read_text())
    params["download"].update(source="local", local_path=str(tmp_path / "nowhere"))
    tiny_params.write_text(yaml.safe_dump(params))
    result = run_stage("download", "--params", tiny_params, "--out", tmp_path / "raw", check=False)
    assert result.returncode == 2 and "nowhere: no such folder or archive" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [tiny_params]


def test_merge_and_split_on_the_embedded_competition(tmp_path, tiny_params, run_stage):
    raw = _raw(tmp_path, tiny_params, run_stage)
    external = tmp_path / "external"
    external.mkdir()
    run_stage(
        "merge_external", "--params", tiny_params, "--raw", raw, "--external", external, "--out", tmp_path / "merged"
    )
    report = json.loads((tmp_path / "merged/report.json").read_text())
    assert report["detection"]["kept"] == {"competition": 12} and report["audio"]["kept"] == {"competition": 20}
    run_stage("split_folds", "--params", tiny_params, "--merged", tmp_path / "merged", "--out", tmp_path / "folds")
    det = pd.read_csv(tmp_path / "folds/detection.csv")
    audio = pd.read_csv(tmp_path / "folds/audio.csv")
    assert len(det) == 12 and set(det.fold) == {0, 1} and det.groupby("group").fold.nunique().max() == 1
    assert len(audio) == 20 and set(audio.fold) == {0, 1}


def test_split_reports_the_class_balance_and_warns_above_the_share_set(tmp_path, tiny_data, params_factory, run_stage):
    params = params_factory(split_folds={"folds": [0, 1], "warn_class_share": 0.15})
    result = run_stage("split_folds", "--params", params, "--merged", tiny_data / "merged", "--out", tmp_path / "f")
    summary = json.loads((tmp_path / "f/summary.json").read_text())
    for task in ("detection", "audio"):
        shares = summary[task]["class_share"]
        assert sum(shares.values()) == pytest.approx(1, abs=1e-3) and list(shares.values()) == sorted(
            shares.values(), reverse=True
        )
    assert set(summary["audio"]["class_share"]) == {
        "yes",
        "no",
        "up",
        "down",
        "left",
        "right",
        "on",
        "off",
        "stop",
        "go",
    }
    over = [c for c, s in summary["detection"]["class_share"].items() if s > 0.15]  # 5 shapes: some pass 15%
    assert over and all(f"warning: {c} is " in result.stderr for c in over)
    assert not [line for line in result.stderr.splitlines() if "audio clips" in line]  # 10 words, 10% each
    assert result.stdout.startswith("detection boxes: ")


def test_bad_sample_policy_fail_stops_the_stage(tmp_path, tiny_params, run_stage):
    raw = _raw(tmp_path, tiny_params, run_stage)
    (raw / "detection/train/images/train_00003.png").write_bytes(b"broken")
    params = yaml.safe_load(tiny_params.read_text())
    params["merge_external"]["on_bad_sample"] = "fail"
    tiny_params.write_text(yaml.safe_dump(params))
    result = run_stage(
        "merge_external",
        "--params",
        tiny_params,
        "--raw",
        raw,
        "--external",
        tmp_path,
        "--out",
        tmp_path / "merged",
        check=False,
    )
    assert result.returncode == 2
    assert "competition/train_00003.png: unreadable or truncated image" in result.stdout
    assert "on_bad_sample: drop" in result.stderr and not (tmp_path / "merged").exists()


def test_a_label_the_competition_does_not_declare_is_a_bad_sample(tmp_path, tiny_data, run_stage, params_factory):
    """Labels are declared, not discovered: with `cross` left out of competition.detection.classes and `go`
    out of competition.audio.labels, their samples are reported bad (drop), or stop the merge (fail)."""
    fmt = yaml.safe_load(params_factory().read_text())["competition"]
    fmt["detection"]["classes"] = [c for c in fmt["detection"]["classes"] if c != "cross"]
    fmt["audio"]["labels"] = [c for c in fmt["audio"]["labels"] if c != "go"]
    params = params_factory(competition=fmt)
    out = tmp_path / "merged"
    result = run_stage("merge_external", "--params", params, "--raw", tiny_data / "raw", "--external",
                       tiny_data / "external", "--out", out)  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    reasons = [b["reason"] for task in ("detection", "audio") for b in report[task]["bad"]]
    assert any("['cross'] not in competition.detection.classes" in r for r in reasons)
    assert any("['go'] not in competition.audio.labels" in r for r in reasons)
    coco = json.loads((out / "detection/train.json").read_text())
    assert [c["name"] for c in coco["categories"]] == fmt["detection"]["classes"]
    assert "bad sample" in result.stdout
    failing = params_factory(competition=fmt, merge_external={"on_bad_sample": "fail"})
    failed = run_stage("merge_external", "--params", failing, "--raw", tiny_data / "raw", "--external",
                       tiny_data / "external", "--out", tmp_path / "merged2", check=False)  # fmt: skip
    assert failed.returncode == 2 and "bad sample(s)" in failed.stderr and not (tmp_path / "merged2").exists()
