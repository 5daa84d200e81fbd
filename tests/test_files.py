"""Atomic outputs: whole or absent, and readable by whoever a plain write would let read them (the umask)."""

import os
import stat
from contextlib import contextmanager

import pytest

from podium.files import atomic_dir, atomic_file, write_json


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_failing_block_leaves_no_output_and_keeps_the_old_one(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "f.json") as f:
        f.write("{")
        raise RuntimeError("killed")
    assert (out / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_outputs_get_the_modes_of_a_plain_mkdir_and_open(tmp_path, mask):
    with umask(mask):
        (tmp_path / "plain_dir").mkdir()
        (tmp_path / "plain_file").write_text("x")
        with atomic_dir(tmp_path / "out") as tmp:
            (tmp / "inner.txt").write_text("x")
            with atomic_file(tmp / "nested.json") as f:
                f.write("{}")
        write_json(tmp_path / "report.json", {"a": 1})
    assert mode(tmp_path / "out") == mode(tmp_path / "plain_dir") == 0o777 & ~mask
    for f in ("out/inner.txt", "out/nested.json", "report.json"):
        assert mode(tmp_path / f) == mode(tmp_path / "plain_file") == 0o666 & ~mask, f


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_a_stage_output_is_readable_as_the_umask_says(tmp_path, tiny_params, run_stage, mask):
    with umask(mask):
        run_stage("download", "--params", tiny_params, "--out", tmp_path / "raw")
    raw = tmp_path / "raw"
    folders = [raw, *(p for p in raw.rglob("*") if p.is_dir())]
    files = [p for p in raw.rglob("*") if p.is_file()]
    assert (raw / "manifest.json") in files
    assert {mode(p) for p in folders} == {0o777 & ~mask}
    assert {mode(p) for p in files} == {0o666 & ~mask}
