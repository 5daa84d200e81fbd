"""The parsers' contract, over arbitrary input (hypothesis): a CSV bbox cell, a submission row and a clip file
either parse or give podium's own error naming the file or row, never another exception."""

import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.cli import _read
from podium.clips import AudioError, read_clip
from podium.data.external import parse_bbox
from podium.errors import PodiumError
from podium.settings import DetectionFormat
from podium.submission import SubmissionError, parse_detection, validate_detection

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMBERISH = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.sampled_from(["nan", "inf", "-1e999", "1e-3", "0x10", "True", "None", "'4'", "[]"]),
)
BBOXES = st.one_of(
    st.text(max_size=40),
    st.lists(NUMBERISH, max_size=6).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.lists(NUMBERISH, max_size=6).map(lambda xs: "(" + ",".join(xs) + ")"),
)


@SETTINGS
@given(BBOXES)
def test_a_csv_bbox_cell_is_four_finite_numbers_or_a_bad_sample(text):
    box = parse_bbox(text)
    assert box is None or (len(box) == 4 and all(np.isfinite(box)))


ROW_TOKENS = st.lists(
    st.one_of(
        NUMBERISH, st.sampled_from(["circle", "square", "dog", ""]), st.text(alphabet=string.printable, max_size=5)
    ),
    max_size=14,
)


FORMATS = st.builds(
    DetectionFormat,
    metric=st.just("coco_map"),
    iou_thr=st.just(0.4),
    empty_images=st.just("excluded"),
    no_finding=st.sampled_from(["", "square"]),
    id_column=st.just("image_id"),
    column=st.just("PredictionString"),
    box=st.sampled_from(["xyxy", "xywh"]),
    fields=st.sampled_from([["class", "score", "box"], ["score", "class", "box"], ["score", "box"]]),
    class_as=st.sampled_from(["name", "id"]),
    empty=st.sampled_from(["", "none 1 0 0 1 1", "1 1 0 0 1 1"]),
    classes=st.just(["circle", "square"]),
)


@SETTINGS
@given(ROW_TOKENS, FORMATS)
def test_a_submission_row_parses_or_names_its_row(tokens, fmt):
    table = pd.DataFrame({"image_id": ["img_7"], "PredictionString": [" ".join(tokens)]})
    sample = pd.DataFrame({"image_id": ["img_7"], "PredictionString": [""]})
    try:
        validate_detection(table, sample, ["circle", "square"], {"img_7": (100, 50)}, fmt)
    except SubmissionError as e:
        assert "img_7" in str(e)
    try:
        parse_detection(table, ["circle", "square"], {"img_7": (100, 50)}, fmt)
    except SubmissionError as e:
        assert "img_7" in str(e)


@SETTINGS
@given(st.binary(max_size=600), st.sampled_from([b"", b"RIFF", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS"]))
def test_any_bytes_as_a_clip_read_or_give_an_audio_error_naming_the_file(data, head):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.wav"
        path.write_bytes(head + data)
        try:
            audio = read_clip(path, 8000)
        except AudioError as e:
            assert str(path) in str(e)
        else:
            assert audio.dtype == np.float32 and np.isfinite(audio).all() and np.abs(audio).max() <= 1.0


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_as_a_submission_file_read_or_name_the_file(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sub.csv"
        path.write_bytes(data)
        try:
            _read(path)
        except PodiumError as e:
            assert str(path) in str(e)
