from pathlib import Path

import pytest
import yaml

from podium.params import SECTIONS, STAGE_PARAMS, ParamsError, dvc_params, load_params, load_stage_params

ROOT = Path(__file__).resolve().parents[1]


def test_real_params_load():
    params = load_params(ROOT / "params.yaml")
    assert set(params) == set(SECTIONS)
    assert params["download"].source == "synthetic"


def test_dvc_yaml_declares_exactly_the_params_each_stage_reads(pipeline_stages):
    stages = pipeline_stages
    declared = {name: spec.get("do", spec).get("params", []) for name, spec in stages.items()}
    for name, spec in stages.items():
        script = ROOT / spec.get("do", spec)["cmd"].split()[1]
        assert script.exists(), f"stage {name} runs {script}, which does not exist"
    assert set(declared) == set(STAGE_PARAMS), "dvc.yaml stages and podium.params.STAGE_PARAMS differ"
    for stage in STAGE_PARAMS:
        assert sorted(declared[stage]) == sorted(dvc_params(stage)), f"{stage}: dvc.yaml params != dvc_params()"


def test_a_per_model_stage_declares_only_its_own_models_entry():
    entries = dvc_params("train_detector")
    assert "train_detector.per_model.${item.model}" in entries and "train_detector" not in entries
    assert not any(e.startswith("models") for e in entries)  # adding a model does not touch trained ones
    assert "train_detector.lr" in entries and "train_detector.per_model" not in entries


def test_a_listed_model_without_a_per_model_entry_is_an_error_saying_what_to_add(tmp_path):
    path = _write(tmp_path, lambda p: p["train_detector"]["per_model"].pop("faster_rcnn"))
    with pytest.raises(
        ParamsError,
        match=r"train_detector.per_model has no entry for 'faster_rcnn' .*add "
        r"`faster_rcnn: \{\}`",
    ):
        load_params(path)


def test_per_model_entries_are_checked_and_resolved(tmp_path):
    path = _write(tmp_path, lambda p: p["train_detector"]["per_model"].update(vfnet={"epochs": "many"}))
    with pytest.raises(ParamsError, match="train_detector.per_model.vfnet.epochs: expected int"):
        load_params(path)
    cascade = load_stage_params(ROOT / "params.yaml", "train_detector", "cascade_rcnn")["train_detector"]
    assert cascade.epochs == 2 and cascade.per_model == {}
    vfnet = load_stage_params(ROOT / "params.yaml", "train_detector", "vfnet")["train_detector"]
    assert vfnet.epochs == load_params(ROOT / "params.yaml")["train_detector"].epochs


def test_an_unknown_detector_name_is_refused_at_load_time(tmp_path):
    with pytest.raises(ParamsError, match=r"models.detection\[0\]: 'yolox' is not one of"):
        load_params(_write(tmp_path, lambda p: p["models"].update(detection=["yolox"])))


def test_every_params_section_is_read_by_some_stage():
    used = {entry.split(".")[0] for entries in STAGE_PARAMS.values() for entry in entries}
    assert used == set(yaml.safe_load((ROOT / "params.yaml").read_text()))


def _write(tmp_path, mutate):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    mutate(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_unknown_key_is_an_error_naming_it(tmp_path):
    path = _write(tmp_path, lambda p: p["split_folds"].update(n_fold=5))
    with pytest.raises(ParamsError, match=r"split_folds: unknown key\(s\) \['n_fold'\]"):
        load_params(path)


def test_wrong_type_is_an_error(tmp_path):
    path = _write(tmp_path, lambda p: p["split_folds"].update(folds="five"))
    with pytest.raises(ParamsError, match="split_folds.folds: expected a list, got str"):
        load_params(path)


def test_bool_is_not_an_int_and_literals_are_checked(tmp_path):
    with pytest.raises(ParamsError, match="expected int, got bool"):
        load_params(_write(tmp_path, lambda p: p["split_folds"].update(folds=[0, True])))
    with pytest.raises(ParamsError, match="'ftp' is not one of"):
        load_params(_write(tmp_path, lambda p: p["download"].update(source="ftp")))


def test_nested_source_entries_are_checked(tmp_path):
    bad = {"name": "x", "format": "coco", "path": "a.json", "images": "img", "classes": {"a": 1}}
    with pytest.raises(ParamsError, match=r"detection_sources\[0\].classes.a: expected str"):
        load_params(_write(tmp_path, lambda p: p["merge_external"].update(detection_sources=[bad])))


def test_stage_params_pick_single_shared_keys():
    p = load_stage_params(ROOT / "params.yaml", "split_folds")
    assert set(p) == {"common.seed", "split_folds"}
    assert isinstance(p["common.seed"], int)


def test_folds_must_count_from_zero(tmp_path):
    with pytest.raises(ParamsError, match=r"must be \[0, 1, ..., K-1\]"):
        load_params(_write(tmp_path, lambda p: p["split_folds"].update(folds=[1, 2])))


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("train_detector", "epochs", -1, r"train_detector: epochs must be >= 0, got -1"),
        ("train_audio", "epochs", -1, r"train_audio: epochs must be >= 1, got -1"),
        ("train_detector", "backbone_depth", 19, r"train_detector.backbone_depth: 19 is not one of"),
        ("predict_detector", "tta_scales", [], "tta_scales must not be empty"),
        ("ensemble", "box_iou_thr", 1.5, r"box_iou_thr must be \[0.01, 1\], got 1.5"),
        ("submit", "max_boxes", 0, "max_boxes must be >= 1"),
    ],
)
def test_values_out_of_range_are_refused_at_load_time(tmp_path, section, key, value, message):
    with pytest.raises(ParamsError, match=message):
        load_params(_write(tmp_path, lambda p: p[section].update({key: value})))


def test_a_range_in_one_models_override_names_the_override(tmp_path):
    path = _write(tmp_path, lambda p: p["train_detector"]["per_model"].update(vfnet={"epochs": -2}))
    with pytest.raises(ParamsError, match=r"train_detector.per_model.vfnet: epochs must be >= 0"):
        load_params(path)


def test_an_unquoted_exponent_is_a_float(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text().replace("  lr: 0.002\n", "  lr: 1e-3\n", 1))
    assert load_params(path)["train_detector"].lr == 0.001  # PyYAML alone reads the string '1e-3'
    path.write_text((ROOT / "params.yaml").read_text().replace("  lr: 0.002\n", "  lr: fast\n", 1))
    with pytest.raises(ParamsError, match="train_detector.lr: expected float, got str 'fast'"):
        load_params(path)


def test_an_unknown_audio_model_is_refused_at_load_time(tmp_path):
    path = _write(
        tmp_path,
        lambda p: (
            p["models"].update(audio=["small_cnn", "resnet_typo"])
            or p["train_audio"]["per_model"].update(resnet_typo={})
        ),
    )
    with pytest.raises(ParamsError, match=r"models.audio: \['resnet_typo'\] are neither podium baselines"):
        load_params(path)


@pytest.mark.parametrize(
    "rounds, message",
    [
        ([{"name": "r1", "source": "rounds/r1/"}], r"r1's source 'rounds/r1/' must be one of \[''\]"),
        ([{"name": "r1", "source": ""}, {"name": "r2", "source": "rounds/r3/"}], r"one of \['', 'rounds/r1/'\]"),
        ([{"name": "r1", "source": ""}, {"name": "r1", "source": ""}], r"'r1' must be a new name"),
        ([{"name": "r 1", "source": ""}], r"'r 1' must be a new name of letters"),
        ([{"name": "r1"}], r"pseudo_label.rounds\[0\]: missing key\(s\) \['source'\]"),
    ],
)
def test_pseudo_label_rounds_name_an_earlier_round_as_their_source(tmp_path, rounds, message):
    path = _write(tmp_path, lambda p: p["pseudo_label"].update(rounds=rounds))
    with pytest.raises(ParamsError, match=message):
        load_params(path)
    ok = [{"name": "r1", "source": ""}, {"name": "r2", "source": "rounds/r1/"}]
    assert len(load_params(_write(tmp_path, lambda p: p["pseudo_label"].update(rounds=ok)))["pseudo_label"].rounds) == 2


def test_the_lr_range_must_rise(tmp_path):
    path = _write(tmp_path, lambda p: p["lr_find"].update(start_lr=0.1, end_lr=0.01))
    with pytest.raises(ParamsError, match=r"lr_find: start_lr and end_lr must satisfy 0 < start_lr < end_lr"):
        load_params(path)


def test_params_rewritten_by_dvc_exp_run_set_param_still_load(tmp_path):
    """`dvc exp run -S` rewrites params.yaml as YAML 1.2 (ruamel), unquoting the label "yes"; podium reads it
    as DVC wrote it, not as YAML 1.1 (where yes, no, on and off are booleans)."""
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    apply_overrides(str(path), ["pseudo_label.rounds=[{name:r1,source:''}]", "pseudo_label.box_thr=0.2"])
    assert "- yes\n" in path.read_text()  # unquoted now
    params = load_params(path)
    assert params["competition"].audio.labels[:2] == ["yes", "no"] and "on" in params["competition"].audio.labels
    assert params["pseudo_label"].rounds[0].source == "" and params["pseudo_label"].box_thr == 0.2
    assert params["train_detector"].amp is False  # true/false stay booleans
