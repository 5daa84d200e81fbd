"""dvc.yaml names every podium module a stage runs as a dependency, so a code change reruns that stage; the
packages import each other in layers, without cycles; package __init__s stay cheap to import."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
# Plumbing every stage shares (argument parsing, the params schema, atomic writes, error types, progress bars)
# and the packages' __init__ files: not listed per stage, or every edit would rerun the whole pipeline.
PLUMBING = {"params.py", "settings.py", "stage.py", "files.py", "errors.py", "progress.py", "__init__.py"}


def _file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    if (base / "__init__.py").exists():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").exists() else None


def _reexports(package_init: Path) -> dict[str, str]:
    """name -> the module an __init__ re-exports it from."""
    out = {}
    for node in ast.walk(ast.parse(package_init.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.update({a.asname or a.name: node.module for a in node.names})
    return out


def _imports(path: Path) -> set[str]:
    """Modules `path` takes code from; names taken from a package resolve to the module defining them."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("podium")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("podium"):
            target = _file(node.module)
            if target is not None and target.name == "__init__.py":
                exports = _reexports(target)
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    sub_file = _file(sub)
                    if sub_file is not None and sub_file.name == "__init__.py":  # a whole package: all it exports
                        found |= set(_reexports(sub_file).values())
                    found.add(sub if sub_file else exports.get(a.name, node.module))
            else:
                found.add(node.module)
    return found


def podium_files(script: Path) -> set[Path]:
    """Every podium source file whose code `script` runs, transitively (imports inside functions too;
    a package's __init__ counts only for what it defines itself)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        for name in _imports(todo.pop()):
            path = _file(name)
            if path is not None and path not in seen:
                seen.add(path)
                if path.name != "__init__.py":
                    todo.append(path)
    return seen


def stage_script(spec: dict) -> Path:
    """The stages/ script a stage runs (a round_* stage runs the base stage's script, stages/<base>.py)."""
    return ROOT / spec.get("do", spec)["cmd"].split()[1]


def test_every_imported_podium_module_is_a_declared_dependency(pipeline_stages):
    problems = []
    for name, spec in pipeline_stages.items():
        body = spec.get("do", spec)
        deps = [ROOT / d for d in body.get("deps", []) if "$" not in d or d.startswith("src")]
        script = stage_script(spec)
        assert ROOT / body["deps"][0] == script, f"{name}: its first dep is not its script"
        if name.startswith("round_"):  # a round's copy of a step is the same stage script on other inputs
            assert script.name == f"{name.removeprefix('round_')}.py", f"{name} runs {script.name}"
        for path in sorted(podium_files(script)):
            if path.name in PLUMBING:
                continue
            if not any(path == d or d in path.parents for d in deps):
                problems.append(f"{name}: {path.relative_to(ROOT)}")
    assert not problems, "dvc.yaml deps miss modules the stage imports:\n" + "\n".join(problems)


def _package_edges() -> dict[str, set[str]]:
    """subpackage -> the other subpackages its modules import (imports inside functions too)."""
    root = SRC / "podium"
    edges: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if len(parts) < 2:
            continue
        for name in _imports(path):
            target = name.split(".")
            if len(target) > 1 and target[1] != parts[0] and (root / target[1]).is_dir():
                edges.setdefault(parts[0], set()).add(target[1])
    return edges


def test_subpackages_import_each_other_without_cycles():
    """Neutral types (podium.boxes, podium.probabilities, podium.clips, podium.coverage) sit below every
    subpackage; the subpackages form a DAG (editing fusion never touches a detector's training code)."""
    edges = _package_edges()
    seen, order = set(), []

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import cycle: {' -> '.join((*path, node))}"
        if node in seen:
            return
        for nxt in sorted(edges.get(node, ())):
            visit(nxt, (*path, node))
        seen.add(node)
        order.append(node)

    for node in sorted(edges):
        visit(node, ())
    assert "detection" not in edges.get("ensemble", set()) and "ensemble" not in edges.get("detection", set())
    assert "audio" not in edges.get("data", set()) and "data" not in edges.get("audio", set())


def test_no_training_stage_imports_the_fusion_code():
    for stage in ("train_detector", "train_audio"):
        files = {p.relative_to(SRC / "podium").as_posix() for p in podium_files(ROOT / "stages" / f"{stage}.py")}
        assert not {f for f in files if f.startswith("ensemble/")}, f"{stage} imports podium.ensemble"


def test_the_csv_checker_does_not_load_the_training_stack():
    """`podium validate` imports the CLI: no torch, mmengine, mmdet, timm or albumentations."""
    code = (
        "import sys, podium.cli, podium.boxes, podium.probabilities, podium.detection, podium.data, podium.audio;"
        "print(sorted(m for m in ('torch', 'mmengine', 'mmdet', 'mmcv', 'timm', 'albumentations') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
    ).stdout.strip()
    assert out == "[]"
