#!/usr/bin/env bash
# Sets up everything podium needs on a fresh Debian machine, idempotently:
#   Debian packages -> .venv -> torch (pinned) -> mmcv with compiled ops -> podium and its pinned deps.
# mmcv 2.1.0 ships only as source and takes ~30 min to compile on 2 cores, so the built wheel is cached
# outside the repo in $PODIUM_CACHE (default ~/.cache/podium), keyed by mmcv, torch and Python versions.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
CACHE=${PODIUM_CACHE:-$HOME/.cache/podium}
APT_PACKAGES=(espeak-ng libsndfile1)

say() { echo "[setup] $*"; }
# (this machine's pip config names local indexes that lack most packages: drop its "ignored" warnings)
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location" >&2); }

stamp="$VENV/.podium-setup"
fingerprint=$(cat pyproject.toml .ci/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
  say "environment is up to date ($VENV, fingerprint $fingerprint)"
  exit 0
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
venv_python="$PWD/$VENV/bin/python"
py_tag=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')

if ! "$VENV/bin/python" -c "import torch, torchvision, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  say "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  pip install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi
# mmcv's setup.py imports pkg_resources, which setuptools 82 removed; torch pulls a newer one, so pin after it.
pip install -q "setuptools<82" wheel ninja

wheel_dir="$CACHE/wheels/mmcv-$MMCV_VERSION-torch-$TORCH_VERSION-$py_tag"
if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
  say "building mmcv==$MMCV_VERSION with ops (first time on this machine: ~30 min on 2 cores)"
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$build" "mmcv==$MMCV_VERSION"
  tar -xzf "$build/mmcv-$MMCV_VERSION.tar.gz" -C "$build"
  # torch 2.14's headers require C++20; mmcv hard-codes c++14/17 in its compile flags (CFLAGS can't override).
  sed -i -E 's/-std=c\+\+1[47]/-std=c++20/g' "$build/mmcv-$MMCV_VERSION/setup.py"
  # The wheel's metadata names the OpenCV flavour found at build time: build against the headless one.
  pip install -q "opencv-python-headless==$(sed -n 's/.*"opencv-python-headless==\([^"]*\)".*/\1/p' pyproject.toml)"
  (cd "$build/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS=$(nproc) \
    "$venv_python" -m pip wheel -q --no-build-isolation --no-deps -w "$build/dist" .)
  mkdir -p "$wheel_dir"
  cp "$build"/dist/mmcv-*.whl "$wheel_dir/.tmp.whl"
  mv "$wheel_dir/.tmp.whl" "$wheel_dir/$(basename "$build"/dist/mmcv-*.whl)"
  say "cached $(ls "$wheel_dir")"
fi

say "installing mmcv from $wheel_dir and podium with its pinned dependencies"
pip install -q "$wheel_dir"/mmcv-*.whl
pip install -q -e ".[dev]"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, timm; print('[setup] ok: mmcv', mmcv.__version__, 'mmdet', mmdet.__version__)"
echo "$fingerprint" > "$stamp"
