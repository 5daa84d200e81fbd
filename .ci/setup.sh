#!/usr/bin/env bash
# Sets up everything podium needs on a fresh Debian machine, idempotently:
#   Debian packages -> .venv -> torch (pinned) -> mmcv 2.1.0 without compiled ops -> podium and its pinned deps.
# Nothing is compiled: mmcv's ops run on torchvision's kernels (src/podium/mmcv_ext.py).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
VENV=.venv
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
UV_VERSION=0.13.9
MMCV_VERSION=2.1.0
APT_PACKAGES=(espeak-ng libsndfile1)

say() { echo "[setup] $*"; }
# (this machine's pip config names local indexes that lack most packages: drop its "ignored" warnings)
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location" >&2); }
# Packages install with uv: it downloads and installs in parallel (measured on a fresh clone, 2 cores, empty
# caches: torch 19 s and podium's dependencies 9 s, where pip took 80 s and 115 s).
# Bytecode is compiled at install (pip does it by default, uv does not): with PYTHONDONTWRITEBYTECODE set, as on
# this machine, Python never writes .pyc files itself, and every stage subprocess of the tests would compile
# torch, mmdet and timm from source again (a fresh clone's test suite took 18.5 minutes instead of about 8).
uv() { UV_COMPILE_BYTECODE=1 "$VENV/bin/uv" "$@"; }

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

"$VENV/bin/uv" --version 2>/dev/null | grep -q "^uv $UV_VERSION " || pip install -q "uv==$UV_VERSION"
export UV_PYTHON="$VENV/bin/python"

if ! "$VENV/bin/python" -c "import torch, torchvision, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  say "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  uv pip install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

say "installing podium with its pinned dependencies"
# (mmcv's setup.py imports pkg_resources, which setuptools 82 removed.)
uv pip install -q "setuptools<82" wheel -e ".[dev]"

# mmcv 2.1.0 as pure Python (MMCV_WITH_OPS=0: seconds, no compiler; its metadata calls it mmcv-lite): the ops
# the detectors call come from torchvision's kernels (src/podium/mmcv_ext.py). PyPI has no mmcv 2.1.0 wheel
# for this Python, so it goes through the source archive (`pip install mmcv==2.1.0` by name finds nothing).
# (An environment set up before this change has mmcv with compiled ops, distribution `mmcv`: replaced.)
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mmcv-lite') != '$MMCV_VERSION')" 2>/dev/null; then
  say "installing mmcv==$MMCV_VERSION without compiled ops"
  uv pip uninstall -q mmcv 2>/dev/null || true
  sdist=$(mktemp -d)
  trap 'rm -rf "$sdist"' EXIT
  pip download -q --no-deps --no-binary :all: -d "$sdist" "mmcv==$MMCV_VERSION"
  MMCV_WITH_OPS=0 uv pip install -q --no-build-isolation "mmcv-lite @ file://$sdist/mmcv-$MMCV_VERSION.tar.gz"
fi

# A .pth file that makes podium's ops mmcv's `_ext` in every Python process of this environment.
"$VENV/bin/python" -c "from podium import mmcv_ext; print('[setup] wrote', mmcv_ext.write_pth())"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, timm; from podium import mmcv_ext; print('[setup] ok: mmcv', mmcv.__version__, '(ops:', mmcv_ext.source() + ')', 'mmdet', mmdet.__version__)"
echo "$fingerprint" > "$stamp"
