"""Data stages: download (synthetic, local, url, kaggle), external-data merge, and fold split."""

from podium.data.download import (
    DownloadError,
    extract_archive,
    fetch_url,
    install_tree,
    kaggle_download,
    write_manifest,
    write_synthetic,
)
from podium.data.external import (
    DETECTION_READERS,
    BadSample,
    MergeError,
    MergeReport,
    merge_audio,
    merge_detection,
    read_audio_csv,
    read_audio_folders,
    read_coco,
)
from podium.data.folds import TRAIN_ONLY, assign_folds, detection_strata, fold_summary
from podium.data.layout import COMPETITION, LayoutError, check_layout
from podium.files import atomic_dir

__all__ = [
    "COMPETITION", "DETECTION_READERS", "TRAIN_ONLY", "BadSample", "DownloadError", "LayoutError", "MergeError",
    "MergeReport", "assign_folds", "atomic_dir", "check_layout", "detection_strata", "extract_archive",
    "fetch_url", "fold_summary", "install_tree", "kaggle_download", "merge_audio", "merge_detection",
    "read_audio_csv", "read_audio_folders", "read_coco", "write_manifest", "write_synthetic",
]
