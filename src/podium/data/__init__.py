"""Data stages: download (synthetic, local, url, kaggle), external-data merge, fold split, and the
canonical layout they write. Import the submodules (`podium.data.layout` is cheap; `download`, `external`
and `folds` load their readers and scikit-learn)."""
