"""Params profiles (profiles/*.yaml): the GPU profile passes the params schema, applies to params.yaml with its
comments kept, and prints as `dvc exp run -S` arguments that say the same."""

import shutil
from pathlib import Path

import pytest
import yaml

from podium import cli, profiles
from podium.params import load_params
from podium.settings import ParamsError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def params(tmp_path):
    return Path(shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml"))


def test_the_gpu_profile_applies_and_passes_the_schema(params):
    profiles.apply(params, profiles.profile_path("gpu"))
    loaded = load_params(params)
    det = loaded["train_detector"]
    assert (det.image_size, det.backbone_depth, det.neck_channels, det.amp) == (1024, 50, 256, True)
    assert det.per_model["vfnet"]["load_from"].startswith("https://download.openmmlab.com/")
    assert loaded["models"].audio == ["resnet34", "efficientnet_b0"]
    text = params.read_text()
    assert "lr: 0.001                 # peak" in text  # params.yaml's comments stay
    assert "audio: [resnet34, efficientnet_b0]" in text  # lists stay in flow style
    assert load_params(params)["augment"] == load_params(ROOT / "params.yaml")["augment"]  # untouched sections


def test_the_dvc_arguments_say_what_applying_does(params):
    expected = yaml.safe_load(profiles.applied(params, profiles.profile_path("gpu")))
    via_set = yaml.safe_load(params.read_text())
    for argument in profiles.set_arguments(profiles.profile_path("gpu"), params):
        key, value = argument.split("=", 1)
        *parents, leaf = key.split(".")
        node = via_set
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)  # how dvc exp run -S parses a value
    assert via_set == expected


def test_a_profile_that_breaks_the_schema_is_refused_naming_it(params, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train_detector:\n  image_size: -3\n")
    before = params.read_text()
    with pytest.raises(ParamsError, match=r"bad\.yaml.*image_size"):
        profiles.apply(params, bad)
    assert params.read_text() == before


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(ParamsError, match=r"known profiles: \[.*'global-wheat-detection', 'gpu'"):
        profiles.profile_path("tpu")


def test_the_cli_prints_a_dvc_exp_run_line(params, capsys):
    cli.main(["profile", "gpu", "--params", str(params)])
    line = capsys.readouterr().out
    assert line.startswith("dvc exp run -S ") and "train_detector.image_size=1024" in line


@pytest.mark.parametrize(
    "name, tasks, metric",
    [
        ("global-wheat-detection", ["detection"], "wheat_precision"),
        ("vinbigdata-chest-xray-abnormalities-detection", ["detection"], "voc_map"),
        ("tensorflow-speech-recognition-challenge", ["audio"], "accuracy"),
    ],
)
def test_each_competition_preset_applies_and_names_one_task(params, name, tasks, metric):
    profiles.apply(params, profiles.profile_path(name))
    loaded = load_params(params)
    competition = loaded["competition"]
    assert (competition.name, competition.tasks) == (name, tasks)
    assert getattr(competition, tasks[0]).metric == metric
    other = "audio" if tasks == ["detection"] else "detection"
    assert getattr(loaded["models"], other) == []
    assert loaded["download"].kaggle_competition == name


def test_applying_a_preset_removes_the_reports_of_the_models_it_drops(params, tmp_path, capsys):
    reports = tmp_path / "reports"
    for folder in ("detection/vfnet/fold0", "detection/faster_rcnn", "audio/small_cnn/fold1", "audio/resnet10t"):
        (reports / folder).mkdir(parents=True)
        (reports / folder / "metrics.json").write_text("{}")
    (reports / "ensemble.json").write_text("{}")
    cli.main(["profile", "global-wheat-detection", "--apply", "--params", str(params), "--reports", str(reports)])
    listed = load_params(params)["models"]
    assert listed.audio == [] and "vfnet" in listed.detection
    left = sorted(str(p.relative_to(reports)) for p in reports.rglob("*.json"))
    assert left == ["detection/faster_rcnn/metrics.json", "detection/vfnet/fold0/metrics.json", "ensemble.json"]
    out = capsys.readouterr().out
    assert f"{reports / 'audio/resnet10t'}: removed" in out and f"{reports / 'audio/small_cnn'}: removed" in out


@pytest.mark.parametrize(
    "name, side", [("global-wheat-detection", 1024), ("vinbigdata-chest-xray-abnormalities-detection", 1024)]
)
def test_detection_presets_train_at_a_size_their_images_need(params, name, side):
    """At the embedded default's 128 px a 1024 px image shrinks 8 times (the training warns); the preset's own
    size does not; the CPU smoke profile, which says it is one, still applies on top."""
    from podium.detection.train import downscale_warning

    coco = {"images": [{"width": side, "height": side}] * 3}
    assert "shrinks these 1024 px images 8 times" in downscale_warning(
        coco, load_params(params)["train_detector"].image_size
    )
    profiles.apply(params, profiles.profile_path(name))
    assert downscale_warning(coco, load_params(params)["train_detector"].image_size) is None
    smoke = profiles.profile_path("cpu-smoke")
    assert "SMOKE TEST" in smoke.read_text().splitlines()[0]
    profiles.apply(params, smoke)
    assert load_params(params)["train_detector"].epochs == 1


def test_the_speech_preset_samples_silence_as_a_share_of_the_data(params):
    profiles.apply(params, profiles.profile_path("tensorflow-speech-recognition-challenge"))
    assert 0 < load_params(params)["download"].silence_fraction < 0.2
