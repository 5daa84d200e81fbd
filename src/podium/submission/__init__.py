"""Submission CSVs: writing, validating, scoring against local labels, and comparing two of them."""

from podium.submission.diff import diff_audio, diff_detection
from podium.submission.formats import (
    SubmissionError,
    detection_rows,
    parse_detection,
    validate_audio,
    validate_detection,
)

__all__ = [
    "SubmissionError",
    "detection_rows",
    "diff_audio",
    "diff_detection",
    "parse_detection",
    "validate_audio",
    "validate_detection",
]
