"""`podium validate` / `podium diff` on broken files: one clear line naming the file, exit 2, no traceback."""

import re

import pandas as pd
import pytest

from podium.cli import main


def _submission(tiny_data, path, first_row):
    sample = pd.read_csv(tiny_data / "raw/detection/sample_submission.csv", keep_default_na=False)
    sample.loc[0, "PredictionString"] = first_row
    sample.to_csv(path, index=False)


def _validate(path, tiny_data, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(["validate", str(path), "--raw", str(tiny_data / "raw")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Traceback" not in err and err.count("\n") == 1
    return err


@pytest.mark.parametrize(
    "row, message",
    [
        ("circle 0.5 a 1 5 5", r"bad.csv: line 2 \(image_id \S+\): .* box must be four numbers"),
        ("circle 0.5 1 1 5", r"bad.csv: line 2 \(image_id \S+\): .*5 fields, not a multiple of 6"),
        ("circle 1.5 1 1 5 5", r"bad.csv: .*scores outside \[0, 1\]"),
    ],
)
def test_a_broken_row_is_named_with_its_file(tmp_path, tiny_data, capsys, row, message):
    _submission(tiny_data, tmp_path / "bad.csv", row)
    assert re.search(message, _validate(tmp_path / "bad.csv", tiny_data, capsys))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"empty.csv: empty file"),
        (b"\xff\xfe\x00garbage\x00\n\x00", r"empty.csv: "),
    ],
)
def test_an_empty_or_binary_file_is_named(tmp_path, tiny_data, capsys, content, message):
    (tmp_path / "empty.csv").write_bytes(content)
    assert re.search(message, _validate(tmp_path / "empty.csv", tiny_data, capsys))


def test_diff_names_the_file_with_non_numeric_coordinates(tmp_path, tiny_data, capsys):
    _submission(tiny_data, tmp_path / "a.csv", "circle 0.5 1 1 5 5")
    _submission(tiny_data, tmp_path / "b.csv", "circle 0.5 1 b 5 5")
    with pytest.raises(SystemExit) as e:
        main(["diff", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--raw", str(tiny_data / "raw")])
    assert e.value.code == 2 and "b.csv: " in capsys.readouterr().err


def test_user_facing_text_names_only_commands_that_exist():
    """Every `podium <command>` in messages, comments, params, profiles and docs is one of the CLI's commands."""
    from pathlib import Path

    from podium.cli import build_parser

    root = Path(__file__).resolve().parents[1]
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    known = set(commands.choices)
    texts = [*root.glob("src/**/*.py"), *root.glob("stages/*.py"), root / "params.yaml", *root.glob("profiles/*.yaml")]
    texts += [root / "README.md", *root.glob("docs/*.md"), root / "Makefile"]
    # a command: in backticks, before an option, a <placeholder> or a path, or a line of a fenced code block
    inline = re.compile(r"`podium ([a-z][a-z-]*)|\bpodium ([a-z][a-z-]*) (?:<|--|[\w.-]*/)")
    fenced = re.compile(r"^\s*\$?\s*podium ([a-z][a-z-]*)", re.M)

    def mentions(text: str) -> set[str]:
        words = {a or b for a, b in inline.findall(text)}
        return words | {w for block in re.findall(r"```.*?```", text, re.S) for w in fenced.findall(block)}

    found = {(str(path.relative_to(root)), word) for path in texts for word in mentions(path.read_text())}
    assert {word for _, word in found} & known, "no mention found: the pattern is wrong"
    assert not [(path, word) for path, word in sorted(found) if word not in known]
