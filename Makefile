# The two commands of the README: `make repro` (set up, then run the whole pipeline) and `make test`.
# Both set up first; setup is idempotent and takes seconds once done (.ci/setup.sh).
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONUNBUFFERED := 1

.PHONY: setup repro test test-slow lint bench gpu-check clean

setup:
	@bash .ci/setup.sh

repro: setup
	dvc repro

test: setup
	python -m pytest -q

test-slow: setup
	python -m pytest -q -m slow

lint: setup
	ruff check src stages tests benchmarks
	ruff format --check src stages tests benchmarks

bench: setup
	python benchmarks/audio_features.py
	python benchmarks/detection_speed.py
	python benchmarks/mmcv_ops.py
	python benchmarks/fusion_speed.py
	python benchmarks/augment_speed.py
	python benchmarks/numerics.py

gpu-check: setup  # on a CUDA machine: the GPU profile's training and TTA speed and peak memory per model
	python benchmarks/gpu_check.py

clean:  # every pipeline output (DVC's cache in .dvc/cache is kept: `dvc checkout` restores them)
	rm -rf data/raw data/merged data/folds data/.download-cache models work oof predictions ensemble
