"""params.yaml: typed sections, checked at load time, and which params each dvc.yaml stage reads.

Every default lives in params.yaml. Each section is described here by a dataclass without defaults, so a
missing key, an unknown key or a wrong type is an error that names the key and the file. `STAGE_PARAMS`
says what each stage reads; `dvc_params` turns that into the stage's dvc.yaml `params` list (a test keeps
them equal), so a change reruns exactly the stages that read it: a per-model stage declares the shared knobs
of its section key by key plus its own model's `per_model` entry, never another model's.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from podium.settings import (
    AUDIO_BASELINES,
    AudioFeatureConfig,
    AudioPredictConfig,
    AudioTrainConfig,
    AugmentConfig,
    Common,
    Competition,
    DetectorPredictConfig,
    DetectorTrainConfig,
    Download,
    EnsembleConfig,
    LrFindConfig,
    MergeExternal,
    Models,
    Numerics,
    ParamsError,
    PseudoLabelConfig,
    SplitFolds,
    SubmitConfig,
)

SECTIONS: dict[str, type] = {
    "competition": Competition,
    "models": Models,
    "common": Common,
    "numerics": Numerics,
    "download": Download,
    "merge_external": MergeExternal,
    "split_folds": SplitFolds,
    "augment": AugmentConfig,
    "audio_features": AudioFeatureConfig,
    "train_audio": AudioTrainConfig,
    "train_detector": DetectorTrainConfig,
    "predict_detector": DetectorPredictConfig,
    "predict_audio": AudioPredictConfig,
    "ensemble": EnsembleConfig,
    "submit": SubmitConfig,
    "pseudo_label": PseudoLabelConfig,
    "lr_find": LrFindConfig,
}

# Sections with a `per_model` entry per model: a stage expanded per model reads the shared knobs with its
# model's entry applied; which models list they serve.
PER_MODEL: dict[str, str] = {"train_detector": "detection", "predict_detector": "detection", "train_audio": "audio"}

# What each dvc.yaml stage reads: a section, or "section.key" for one knob. A PER_MODEL section here means its
# shared knobs plus the stage's model's per_model entry (dvc.yaml's `${item.model}`).
STAGE_PARAMS: dict[str, list[str]] = {
    "download": [
        "common",
        "competition.tasks",
        "competition.detection.classes",
        "competition.audio.labels",
        "download",
    ],
    "merge_external": ["common", "competition.detection.classes", "competition.audio.labels", "merge_external"],
    "split_folds": ["common.seed", "split_folds"],
    "augment": ["common", "augment"],
    "train_audio": ["common", "numerics", "audio_features", "train_audio"],
    "evaluate_audio": [],
    "train_detector": [
        "common.seed",
        "numerics",
        "competition.detection.metric",
        "competition.detection.iou_thr",
        "competition.detection.empty_images",
        "competition.detection.no_finding",
        "train_detector",
    ],
    "evaluate_detector": [
        "competition.detection.metric",
        "competition.detection.iou_thr",
        "competition.detection.empty_images",
        "competition.detection.no_finding",
    ],
    "predict_detector": ["numerics", "predict_detector"],
    "predict_audio": ["numerics", "predict_audio"],
    "tune_ensemble": ["common.seed", "competition", "ensemble", "models"],
    "submit": ["competition", "submit", "split_folds.folds", "models"],
    # pseudo-labelling: everything but `rounds`, so adding a round reruns no earlier one
    "pseudo_label": [
        "common.sample_rate",
        "competition.tasks",
        "models",
        "split_folds.folds",
        *(f"pseudo_label.{key}" for key in ("box_thr", "box_high", "box_min_fraction", "box_repeats")),
        *(f"pseudo_label.{key}" for key in ("clip_thr", "clip_max_per_class", "clip_repeats", "preview")),
    ],
    # lr_find/dvc.yaml, run on demand: the training stage's params plus the finder's
    "lr_find_audio": ["common", "numerics", "audio_features", "train_audio", "lr_find"],
    "lr_find_detector": ["common.seed", "numerics", "train_detector", "lr_find"],
}
# A pseudo-labelling round (dvc.yaml's round_* stages) runs the same stage scripts on its own folders: each
# reads what the base stage of the same script reads.
ROUND_STAGES = (
    "train_audio",
    "predict_audio",
    "evaluate_audio",
    "train_detector",
    "predict_detector",
    "evaluate_detector",
    "tune_ensemble",
    "submit",
)
STAGE_PARAMS.update({f"round_{stage}": STAGE_PARAMS[stage] for stage in ROUND_STAGES})


def dvc_params(stage: str) -> list[str]:
    """The `params` list dvc.yaml must declare for `stage`."""
    out = []
    for entry in STAGE_PARAMS[stage]:
        if entry in PER_MODEL:
            out += [f"{entry}.{f.name}" for f in dataclasses.fields(SECTIONS[entry]) if f.name != "per_model"]
            out.append(f"{entry}.per_model.${{item.model}}")
        else:
            out.append(entry)
    return out


def check_section(tp: type, value: Any, where: str) -> Any:
    """`value` (plain YAML data) checked against the section dataclass `tp`; ParamsError names `where`."""
    return _check(value, tp, where)


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _check(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping of {sorted(f.name for f in dataclasses.fields(tp))}")
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ParamsError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted(fields)}")
        missing = sorted(set(fields) - set(value))
        if missing:
            raise ParamsError(f"{where}: missing key(s) {missing}")
        hints = typing.get_type_hints(tp)
        checked = {k: _check(value[k], hints[k], f"{where}.{k}") for k in fields}
        try:
            return tp(**checked)
        except ParamsError as e:  # a range check of the section: say where
            raise ParamsError(f"{where}: {e}") from None
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ParamsError(f"{where}: {value!r} is not one of {list(typing.get_args(tp))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        (item,) = typing.get_args(tp)
        return [_check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
        kt, vt = typing.get_args(tp)
        return {_check(k, kt, f"{where} key"): _check(v, vt, f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return _check(value, option, where)
            except ParamsError:
                pass
        raise ParamsError(f"{where}: {value!r} matches none of {tp}")
    if tp is Any:
        return value
    if tp is type(None):
        if value is not None:
            raise ParamsError(f"{where}: expected null, got {value!r}")
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)  # YAML 1.1 (PyYAML) reads `1e-3` as a string; YAML 1.2 and people read a number
    if tp in (int, float) and isinstance(value, bool) or not isinstance(value, tp):
        raise ParamsError(f"{where}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
    return value


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader reading booleans as YAML 1.2 does (true/false only). PyYAML follows YAML 1.1, where
    yes/no/on/off are booleans; DVC writes params.yaml as YAML 1.2 (ruamel), where they are strings, and
    `dvc exp run -S` rewrites the whole file, unquoting a label such as "yes". Read it the way DVC writes it."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_params_yaml(text: str) -> Any:
    """Plain data from params.yaml text, read as YAML 1.2 reads it (see `_Yaml12Loader`)."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 (a SafeLoader subclass)


def load_params(path: str | Path) -> dict[str, Any]:
    """Read and check the whole params file: {section name: section dataclass}."""
    path = Path(path)
    try:
        raw = read_params_yaml(path.read_text()) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path}: params file not found") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from e
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ParamsError(f"{path}: unknown section(s) {unknown}; valid sections are {sorted(SECTIONS)}")
    missing = sorted(set(SECTIONS) - set(raw))
    if missing:
        raise ParamsError(f"{path}: missing section(s) {missing}")
    try:
        params = {name: _check(raw[name], tp, name) for name, tp in SECTIONS.items()}
        for name, task in PER_MODEL.items():
            for model in getattr(params["models"], task):  # every listed model has an entry, and it is valid
                if model not in params[name].per_model:
                    raise ParamsError(
                        f"{name}.per_model has no entry for {model!r} (listed in models.{task}): add `{model}: {{}}` "
                        "there (dvc.yaml declares each model's entry, so it must exist even when nothing differs)"
                    )
            for model in params[name].per_model:  # listed or not (a model dropped for now), its knobs are valid
                resolve_model(params[name], model, name)
        check_tasks(params["competition"], params["models"])
        check_audio_models(params["models"].audio)
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None
    return params


def check_tasks(competition: Competition, models: Models) -> None:
    """A task of the competition has models; a task it does not have has none (its stages then run nothing)."""
    for task in ("detection", "audio"):
        listed = getattr(models, task)
        if task in competition.tasks and not listed:
            raise ParamsError(f"models.{task} is empty but competition.tasks has {task}: list at least one model")
        if task not in competition.tasks and listed:
            raise ParamsError(
                f"models.{task} lists {listed} but competition {competition.name!r} has no {task} task "
                f"(competition.tasks: {competition.tasks}): set models.{task}: [] or add the task"
            )


def check_audio_models(names: list[str]) -> None:
    """Every audio model is a podium baseline or a model timm knows (timm, and so torch, is imported only when
    a name is not a baseline)."""
    others = [n for n in names if n not in AUDIO_BASELINES]
    if not others:
        return
    import timm

    if unknown := [n for n in others if not timm.is_model(n)]:
        raise ParamsError(
            f"models.audio: {unknown} are neither podium baselines {list(AUDIO_BASELINES)} nor timm "
            "models (`timm.list_models('*name*')` lists timm's)"
        )


def resolve_model(section: Any, model: str, name: str) -> Any:
    """A per-model section's knobs for `model`: the shared ones with its `per_model` entry applied (the
    result's own `per_model` is empty)."""
    if model not in section.per_model:
        raise ParamsError(f"{name}.per_model has no entry for {model!r}; add `{model}: {{}}`")
    overrides = section.per_model[model]
    if "per_model" in overrides:
        raise ParamsError(f"{name}.per_model.{model}: per_model cannot differ per model")
    merged = {**dataclasses.asdict(section), **overrides, "per_model": {}}
    return _check(merged, type(section), f"{name}.per_model.{model}")


def load_stage_params(path: str | Path, stage: str, model: str | None = None) -> dict[str, Any]:
    """{entry: value} for each entry of STAGE_PARAMS[stage] (a section, or one knob), checked; a PER_MODEL
    section comes resolved for `model` (required then)."""
    if stage not in STAGE_PARAMS:
        raise KeyError(f"unknown stage {stage!r}; stages are {sorted(STAGE_PARAMS)}")
    params = load_params(path)
    out: dict[str, Any] = {}
    for entry in STAGE_PARAMS[stage]:
        section, _, key = entry.partition(".")
        if entry in PER_MODEL:
            if model is None:
                raise ValueError(f"stage {stage} reads {entry} for one model: pass the model")
            out[entry] = resolve_model(params[entry], model, entry)
        else:
            value = params[section]
            for part in key.split(".") if key else []:  # "section.key" or "section.sub.key"
                value = getattr(value, part)
            out[entry] = value
    return out


def to_dict(section: Any) -> Any:
    """A section as plain YAML-able data, to store beside the outputs it made."""
    return dataclasses.asdict(section) if dataclasses.is_dataclass(section) else section
