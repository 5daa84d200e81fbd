"""Params profiles: a partial params file (profiles/<name>.yaml) laid over params.yaml, e.g. the GPU server
profile. Two ways to use one, both checked against the params schema first:

    podium profile gpu --apply   # write its values into params.yaml (comments and order kept), then dvc repro
    podium profile gpu           # print it as `dvc exp run` arguments (-S key=value), for an experiment

Mappings merge key by key; a list or a scalar replaces params.yaml's value.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from podium.files import atomic_file
from podium.params import load_params
from podium.settings import ParamsError

PROFILES = Path(__file__).resolve().parents[2] / "profiles"


def profile_path(name: str) -> Path:
    """A profile by name (profiles/<name>.yaml) or by path."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PROFILES / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILES.glob("*.yaml"))
        raise ParamsError(f"{path}: no such profile; known profiles: {known} (or give a .yaml path)")
    return path


def read_profile(path: Path) -> dict[str, Any]:
    profile = yaml.safe_load(path.read_text()) or {}
    if not isinstance(profile, dict):
        raise ParamsError(f"{path}: a profile is a mapping of params sections, like params.yaml")
    return profile


def merge(base: Any, overlay: Any) -> Any:
    """`overlay` laid over `base` in place where both are mappings (ruamel's round-trip maps keep comments);
    new lists and flat mappings are written in flow style, as params.yaml writes them."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        for key, value in overlay.items():
            base[key] = merge(base[key], value) if key in base else _flow(value)
        return base
    return _flow(overlay)


def _flow(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, str) and not _reads_back(value):
        return DoubleQuotedScalarString(value)  # `yes`, `on`, `1e3`: YAML 1.1 (PyYAML, podium) would not read a str
    if isinstance(value, list):
        seq = CommentedSeq([_flow(v) for v in value])
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        flat = all(not isinstance(v, dict | list) for v in value.values())
        mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
        if flat:
            mapping.fa.set_flow_style()
        return mapping
    return value


def _reads_back(text: str) -> bool:
    """Whether `text`, written plain, reads back as that string under YAML 1.1 (PyYAML)."""
    try:
        return yaml.safe_load(text or "''") == text
    except yaml.YAMLError:
        return False


def _round_trip():
    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a long line (URLs)
    return rt


def applied(params_path: Path, profile: Path) -> str:
    """params.yaml's text with the profile applied; raises ParamsError (naming the profile) if the result
    does not pass the params schema."""
    rt = _round_trip()
    document = rt.load(params_path.read_text())
    merge(document, read_profile(profile))
    out = io.StringIO()
    rt.dump(document, out)
    text = out.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "params.yaml"
        candidate.write_text(text)
        try:
            load_params(candidate)
        except ParamsError as e:
            raise ParamsError(f"{profile} applied to {params_path}: {e}") from None
    return text


def apply(params_path: Path, profile: Path) -> None:
    text = applied(params_path, profile)
    with atomic_file(params_path) as f:
        f.write(text)


def unlisted_reports(params_path: Path, reports: Path) -> list[Path]:
    """The model folders under `reports`/<task>/ (a model's CV and per-fold training reports) of models that
    params no longer list: no stage remakes them, and `dvc metrics show` would go on showing them."""
    models = load_params(params_path)["models"]
    return [
        folder
        for task, listed in (("detection", models.detection), ("audio", models.audio))
        for folder in sorted((reports / task).glob("*"))
        if folder.is_dir() and folder.name not in listed
    ]


def set_arguments(profile: Path, params_path: Path) -> list[str]:
    """The profile as `dvc exp run` -S arguments (one per leaf; lists whole), after the same schema check."""
    applied(params_path, profile)
    out: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        else:
            out.append(f"{prefix}={json.dumps(value) if not isinstance(value, str) else value}")

    walk("", read_profile(profile))
    return out
