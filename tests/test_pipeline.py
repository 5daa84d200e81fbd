"""The DVC graph itself: `dvc repro` on a copy of the project with tiny params, rerun behaviour."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA_STAGES = ["download", "merge_external", "split_folds"]


def _sh(cmd: list[str], cwd: Path) -> str:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(cwd / "src"),
        "DVC_NO_ANALYTICS": "1",
    }
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


def _stale(project: Path) -> set[str]:
    """The stages `dvc status` reports changed (their own deps, params or outs), by name."""
    return set(json.loads(_sh(["dvc", "status", "--json"], project).strip() or "{}"))


@pytest.fixture(scope="module")
def whole_pipeline(tmp_path_factory, write_params):
    """Every stage of dvc.yaml run end to end on tiny params with two detectors (the two families) and one
    audio model; a git + DVC project folder."""
    folder = tmp_path_factory.mktemp("pipeline")
    params = write_params(folder, models={"detection": ["vfnet", "faster_rcnn"], "audio": ["small_cnn"]})
    project = _copy_project(folder, params, None)
    _sh(["dvc", "repro"], project)
    return project


def _edit_params(project: Path, change) -> str:
    """Apply `change` to params.yaml; return the old text, to put back."""
    old = (project / "params.yaml").read_text()
    params = yaml.safe_load(old)
    change(params)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    return old


TRAIN = {f"train_detector@{m}-{k}" for m in ("vfnet", "faster_rcnn") for k in (0, 1)}
PREDICT = {f"predict_detector@{m}-{k}" for m in ("vfnet", "faster_rcnn") for k in (0, 1)}
CASCADE = {
    "train_detector@cascade_rcnn-0",
    "train_detector@cascade_rcnn-1",
    "predict_detector@cascade_rcnn-0",
    "predict_detector@cascade_rcnn-1",
    "evaluate_detector@cascade_rcnn",
}

RERUN_CASES = {  # change to params.yaml -> exactly the stages it makes stale
    "add a model": (lambda p: p["models"]["detection"].append("cascade_rcnn"), CASCADE | {"tune_ensemble", "submit"}),
    "drop a model": (lambda p: p["models"]["detection"].remove("faster_rcnn"), {"tune_ensemble", "submit"}),
    "one model's training override": (
        lambda p: p["train_detector"]["per_model"]["faster_rcnn"].update(lr=0.001),
        {"train_detector@faster_rcnn-0", "train_detector@faster_rcnn-1"},
    ),
    "one model's TTA override": (
        lambda p: p["predict_detector"]["per_model"]["vfnet"].update(tta_merge="wbf"),
        {"predict_detector@vfnet-0", "predict_detector@vfnet-1"},
    ),
    "a shared training knob": (lambda p: p["train_detector"].update(lr=0.001), TRAIN),
    "an ensemble knob": (lambda p: p["ensemble"].update(box_iou_thr=0.6), {"tune_ensemble"}),
    "an audio model's override": (
        lambda p: p["train_audio"]["per_model"]["small_cnn"].update(lr=0.01),
        {"train_audio@small_cnn-0", "train_audio@small_cnn-1"},
    ),
    "the competition's detection metric": (  # it picks the detectors' best epoch, so training reruns too
        lambda p: p["competition"]["detection"].update(metric="voc_map"),
        {
            *(f"train_detector@{m}-{k}" for m in ("vfnet", "faster_rcnn") for k in (0, 1)),
            "evaluate_detector@vfnet",
            "evaluate_detector@faster_rcnn",
            "tune_ensemble",
            "submit",
        },
    ),
    "the submission's empty string": (
        lambda p: p["competition"]["detection"].update(empty="none"),
        {"tune_ensemble", "submit"},
    ),
}


@pytest.mark.slow
def test_whole_pipeline_then_nothing_is_stale(whole_pipeline):
    project = whole_pipeline
    assert (project / "reports/detection/faster_rcnn/cv.json").exists()
    assert (project / "oof/audio/small_cnn.csv").exists() and (project / "submissions/detection.csv").exists()
    assert _stale(project) == set()


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(RERUN_CASES))
def test_a_params_change_makes_exactly_its_stages_stale(whole_pipeline, case):
    change, expected = RERUN_CASES[case]
    old = _edit_params(whole_pipeline, change)
    try:
        assert _stale(whole_pipeline) == expected
    finally:
        (whole_pipeline / "params.yaml").write_text(old)


@pytest.mark.slow
@pytest.mark.parametrize(
    "module, expected",
    [
        ("ensemble/boxes.py", PREDICT | {"tune_ensemble", "submit"}),  # TTA merge and fusion: no training stage
        ("ensemble/voting.py", {"tune_ensemble", "submit"}),
        ("detection/inference.py", TRAIN | PREDICT),
    ],
)
def test_a_module_edit_makes_exactly_its_stages_stale(whole_pipeline, module, expected):
    path = whole_pipeline / "src/podium" / module
    old = path.read_text()
    path.write_text(old + "\n# an edit\n")
    try:
        assert _stale(whole_pipeline) == expected
    finally:
        path.write_text(old)


ROUND1 = {"name": "r1", "source": ""}
ROUND1_STAGES = {
    "pseudo_label@0",
    "round_tune_ensemble@0",
    "round_submit@0",
    "round_evaluate_audio@round0-small_cnn",
    *(f"round_{s}_audio@round0-small_cnn-{k}" for s in ("train", "predict") for k in (0, 1)),
    *(f"round_evaluate_detector@round0-{m}" for m in ("vfnet", "faster_rcnn")),
    *(
        f"round_{s}_detector@round0-{m}-{k}"
        for s in ("train", "predict")
        for m in ("vfnet", "faster_rcnn")
        for k in (0, 1)
    ),
}


def _ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")}


@pytest.mark.slow
def test_a_pseudo_label_round_runs_only_its_own_stages_and_a_second_adds_only_its_own(whole_pipeline):
    """One round added to the finished pipeline runs its pseudo_label stage and the round_* copies of training,
    prediction, evaluation, tuning and submission, and no base stage; its knobs stale only its pseudo_label
    stage; a second round adds only stages of its own."""
    project = whole_pipeline
    take_all = {"box_thr": 0.0, "box_high": 0.0, "box_min_fraction": 0.0, "clip_thr": 0.0}  # tiny models: keep any
    old = _edit_params(project, lambda p: p["pseudo_label"].update(rounds=[ROUND1], **take_all))
    try:
        assert _ran_stages(_sh(["dvc", "repro"], project)) == ROUND1_STAGES
        assert _stale(project) == set()
        table = pd.read_csv(project / "rounds/r1/data/folds/audio.csv")
        assert (table.fold == -1).sum() > 0 and table[table.fold == -1].fname.str.startswith("pseudo/").all()
        board = json.loads((project / "reports/rounds/r1/leaderboard.json").read_text())
        assert set(board) == {"detection", "audio"} and (project / "rounds/r1/submissions/detection.csv").is_file()
        assert json.loads((project / "reports/rounds/r1/pseudo/metrics.json").read_text())["audio"]["samples"] > 0

        _edit_params(project, lambda p: p["pseudo_label"].update(box_repeats=5))
        assert _stale(project) == {"pseudo_label@0"}
        second = {"name": "r2", "source": "rounds/r1/"}
        _edit_params(project, lambda p: p["pseudo_label"].update(box_repeats=3, rounds=[ROUND1, second]))
        stale = _stale(project)
        assert "pseudo_label@1" in stale and all(s.endswith("@1") or "@round1-" in s for s in stale), stale
    finally:
        (project / "params.yaml").write_text(old)
    assert _stale(project) == set()


TRAINED = "train_detector@faster_rcnn-0"


def _commit_all(project: Path, message: str) -> None:
    _sh(["git", "add", "-A"], project)
    _sh(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], project)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_trained_fold_moves_to_another_clone_through_the_run_cache(tmp_path, write_params):
    """Clone A trains one fold and pushes DVC's run cache to a shared remote; clone B has nothing but the
    code (no dvc.lock, no outputs) and `dvc repro --pull` restores that fold and everything upstream of it
    without running a stage: the training stage has no `persist` output to keep it out of the run cache."""
    params = write_params(
        tmp_path,
        models={"detection": ["faster_rcnn"], "audio": ["small_cnn"]},
        train_detector={"epochs": 0},  # the untrained baseline: every output of a training stage, in seconds
    )
    a = _copy_project(tmp_path / "a", params, [*DATA_STAGES, "augment", "train_detector"])
    _sh(["dvc", "remote", "add", "-d", "shared", str(tmp_path / "remote")], a)
    _commit_all(a, "the code, params and remote")
    _sh(["git", "clone", "-q", str(a), str(tmp_path / "b")], tmp_path)
    b = tmp_path / "b"

    ran = _sh(["dvc", "repro", TRAINED], a)
    assert f"Running stage '{TRAINED}'" in ran
    _sh(["dvc", "push", "--run-cache"], a)

    restored = _sh(["dvc", "repro", "--pull", TRAINED], b)
    assert "Running stage" not in restored, restored
    assert f"Stage '{TRAINED}' is cached - skipping run, checking out outputs" in restored
    for out in ["models/detection/faster_rcnn/fold0", "reports/detection/faster_rcnn/fold0"]:
        assert _files(b / out) and _files(b / out) == _files(a / out), out
    assert json.loads(_sh(["dvc", "status", "--json", TRAINED], b).strip() or "{}") == {}


@pytest.mark.slow
@pytest.mark.parametrize("task", ["detection", "audio"])
def test_a_one_task_competition_runs_only_that_tasks_stages(tmp_path, write_params, task):
    """competition.tasks: [task] and the other task's models []: `dvc repro` runs no stage of the other task,
    needs none of its data, and writes its one submission in the competition's format (VinBigData's, for
    detection: class ids, scored by VOC mAP)."""
    other = "audio" if task == "detection" else "detection"
    fmt = yaml.safe_load((ROOT / "params.yaml").read_text())["competition"]
    fmt["detection"].update(metric="voc_map", class_as="id")
    params = write_params(
        tmp_path,
        competition={**fmt, "name": f"only-{task}", "tasks": [task]},
        models={task: ["faster_rcnn"] if task == "detection" else ["small_cnn"], other: []},
        train_detector={"epochs": 0},
    )
    project = _copy_project(tmp_path, params, None)
    out = _sh(["dvc", "repro"], project)
    assert f"@{other}" not in out and not [
        line for line in out.splitlines() if "Running stage" in line and other in line
    ]
    assert not (project / "data/raw" / other).exists()
    assert sorted(p.name for p in (project / "submissions").glob("*.csv")) == [f"{task}.csv"]
    assert list(json.loads((project / "reports/leaderboard.json").read_text())) == [task]
    assert json.loads((project / "reports/leaderboard.json").read_text())[task]["metric"] == fmt[task]["metric"]
    _sh([sys.executable, "-m", "podium.cli", "validate", f"submissions/{task}.csv", "--params", "params.yaml"], project)
    assert _stale(project) == set()


def _preset(tmp_path, write_params, name: str, archive: Path, **overrides: dict) -> Path:
    """Tiny params with the competition preset profiles/<name>.yaml applied (podium's own merge), the data read
    from the miniature `archive`, one tiny detector, and `overrides` ({section: {key: value}}) on top."""
    from podium import profiles

    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    merged = profiles.merge(base, yaml.safe_load((ROOT / f"profiles/{name}.yaml").read_text()))
    merged = json.loads(json.dumps(merged))  # plain data again
    changes = {k: merged[k] for k in ("competition", "models", "download")}
    changes["download"].update(source="local", local_path=str(archive))
    changes["train_detector"] = {"epochs": 1, "image_size": 64}
    for section, values in overrides.items():
        changes.setdefault(section, {}).update(values)
    return write_params(tmp_path, **changes)


@pytest.mark.slow
def test_global_wheat_from_its_own_zip_to_a_valid_submission(tmp_path, write_params, miniatures):
    """The Global Wheat preset on a miniature of the competition's download (its zip, as `kaggle competitions
    download` writes it): download -> ... -> submit with tiny params, a submission in Global Wheat's own format
    (`score x y w h`, no class) that validates against the miniature's sample submission, CV and tuning by
    wheat_precision."""
    archive = miniatures.global_wheat(tmp_path / "gwd", train=12, test=4, size=128)
    params = _preset(tmp_path, write_params, "global-wheat-detection", archive, models={"detection": ["faster_rcnn"]})
    project = _copy_project(tmp_path, params, None)
    _sh(["dvc", "repro"], project)
    rows = (project / "submissions/detection.csv").read_text().splitlines()
    assert rows[0] == "image_id,PredictionString" and len(rows) == 5
    groups = [r.split(",", 1)[1].split() for r in rows[1:]]
    assert all(len(g) % 5 == 0 for g in groups)  # score x y w h, no class
    sample = (tmp_path / "gwd/files/sample_submission.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == [r.split(",")[0] for r in sample]
    _sh(
        [sys.executable, "-m", "podium.cli", "validate", "submissions/detection.csv", "--params", "params.yaml"],
        project,
    )
    cv = json.loads((project / "reports/detection/faster_rcnn/cv.json").read_text())
    assert cv["metric"] == "wheat_precision" and 0 <= cv["score"] <= 1
    folds = json.loads((project / "data/merged/detection/train.json").read_text())
    assert {img.get("domain") for img in folds["images"]} >= {"usask_1", "arvalis_1"}
    assert _stale(project) == set()


@pytest.mark.slow
def test_the_speech_challenge_from_its_own_zip_to_a_valid_submission(tmp_path, write_params, miniatures):
    """The speech challenge's preset on a miniature of its download (the zip holding train.7z and test.7z):
    download -> ... -> submit with tiny params; `fname,label` rows over the 12 labels, valid against the
    miniature's sample submission, folds grouped by speaker."""
    archive = miniatures.speech_challenge(tmp_path / "speech")
    params = _preset(
        tmp_path, write_params, "tensorflow-speech-recognition-challenge", archive, models={"audio": ["small_cnn"]},
        download={"unknown_fraction": 1.0, "silence_fraction": 0.15},
    )  # fmt: skip
    project = _copy_project(tmp_path, params, None)
    _sh(["dvc", "repro"], project)
    rows = (project / "submissions/audio.csv").read_text().splitlines()
    assert rows[0] == "fname,label" and len(rows) == 7
    labels = {r.split(",")[1] for r in rows[1:]}
    assert labels <= {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "silence", "unknown"}
    _sh([sys.executable, "-m", "podium.cli", "validate", "submissions/audio.csv", "--params", "params.yaml"], project)
    folds = pd.read_csv(project / "data/folds/audio.csv")
    assert (folds.groupby("group").fold.nunique() == 1).all()  # a speaker never straddles two folds
    assert _stale(project) == set()


@pytest.mark.slow
def test_vinbigdata_from_its_own_zip_to_a_valid_submission(tmp_path, write_params, miniatures):
    """VinBigData's preset on a miniature of its download (DICOMs, one row per radiologist finding): download
    -> ... -> submit with tiny params; rows `class_id score x_min y_min x_max y_max` in the DICOMs' own pixels
    (the images were resized to 64 px), `14 1 0 0 1 1` where nothing is found, valid against the sample."""
    archive = miniatures.vinbigdata(tmp_path / "vin", train=12, test=3)
    params = _preset(
        tmp_path, write_params, "vinbigdata-chest-xray-abnormalities-detection", archive,
        models={"detection": ["faster_rcnn"]}, download={"image_size": 64}, submit={"max_boxes": 5},
    )  # fmt: skip
    project = _copy_project(tmp_path, params, None)
    _sh(["dvc", "repro"], project)
    rows = (project / "submissions/detection.csv").read_text().splitlines()
    assert rows[0] == "image_id,PredictionString" and len(rows) == 4
    for row in rows[1:]:
        fields = row.split(",", 1)[1].split()
        assert len(fields) % 6 == 0 and all(0 <= int(c) <= 14 for c in fields[::6])
        assert all(float(v) <= 160 for k, v in enumerate(fields) if k % 6 >= 2)  # DICOM pixels (160 x 128)
    _sh(
        [sys.executable, "-m", "podium.cli", "validate", "submissions/detection.csv", "--params", "params.yaml"],
        project,
    )
    cv = json.loads((project / "reports/detection/faster_rcnn/cv.json").read_text())
    assert cv["metric"] == "voc_map" and 0 <= cv["score"] <= 1
    assert _stale(project) == set()


GENERIC = {  # the competition of miniatures.generic_detection, described by params alone
    "competition": {
        "name": "fruit-detection",
        "tasks": ["detection"],
        "detection": {"metric": "voc_map", "iou_thr": 0.5, "id_column": "Id", "column": "Predicted", "box": "xywh",
                      "fields": ["score", "class", "box"], "class_as": "name", "empty": "none",
                      "classes": ["apple", "pear"]},
    },
    "generic": {"format": "csv", "annotations": "labels.csv", "images": "images", "test_images": "test_images",
                "sample_submission": "sample_submission.csv", "image_column": "image", "image_suffix": "",
                "class_column": "label", "box_columns": ["xmin", "ymin", "xmax", "ymax"], "box": "xyxy"},
}  # fmt: skip


@pytest.mark.slow
def test_a_competition_without_an_adapter_runs_from_params_alone(tmp_path, write_params, miniatures):
    """download.layout: generic: a CSV with named xyxy columns, its own submission grammar (`score class x y w
    h`, `none` when empty, columns Id,Predicted): zip -> ... -> a submission valid against its sample."""
    archive = miniatures.generic_detection(tmp_path / "fruit")
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    competition = {**base["competition"], **GENERIC["competition"]}
    competition["detection"] = {**base["competition"]["detection"], **GENERIC["competition"]["detection"]}
    generic = {**base["download"]["generic"], "detection": GENERIC["generic"]}
    params = write_params(
        tmp_path,
        competition=competition,
        models={"detection": ["faster_rcnn"], "audio": []},
        download={**base["download"], "source": "local", "local_path": str(archive), "layout": "generic",
                  "generic": generic},
        train_detector={"epochs": 1, "image_size": 64},
    )  # fmt: skip
    project = _copy_project(tmp_path, params, None)
    _sh(["dvc", "repro"], project)
    rows = (project / "submissions/detection.csv").read_text().splitlines()
    assert rows[0] == "Id,Predicted" and len(rows) == 5
    for row in rows[1:]:
        fields = row.split(",", 1)[1].split()
        assert fields == ["none"] or (len(fields) % 6 == 0 and set(fields[1::6]) <= {"apple", "pear"})
    _sh(
        [sys.executable, "-m", "podium.cli", "validate", "submissions/detection.csv", "--params", "params.yaml"],
        project,
    )
    coco = json.loads((project / "data/raw/detection/train/annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["apple", "pear"]
    assert _stale(project) == set()
