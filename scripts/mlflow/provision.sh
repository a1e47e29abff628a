#!/usr/bin/env bash
# Installs the pinned MLflow into a virtualenv in the cache. Idempotent: skips the (minutes long)
# pip install when the venv already has the pinned version.
set -euo pipefail
# shellcheck source=scripts/mlflow/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

installed() {
  [[ -x "$MLFLOW_VENV/bin/python" ]] \
    && [[ "$("$MLFLOW_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"), m.version("sqlalchemy"))' 2>/dev/null)" == "$MLFLOW_VERSION $SQLALCHEMY_VERSION" ]]
}

if installed; then
  say "mlflow $MLFLOW_VERSION (sqlalchemy $SQLALCHEMY_VERSION) already in $MLFLOW_VENV"
  exit 0
fi
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3.9+ (Debian: apt-get install python3 python3-venv) or set COELHO_PYTHON"
mkdir -p "$CACHE_DIR"
say "creating $MLFLOW_VENV and installing mlflow==$MLFLOW_VERSION from PyPI (takes minutes)"
[[ -x "$MLFLOW_VENV/bin/pip" ]] || "$PYTHON" -m venv "$MLFLOW_VENV" || die "python3 -m venv failed; on Debian: apt-get install python3-venv"
"$MLFLOW_VENV/bin/pip" install --quiet --disable-pip-version-check \
  "mlflow==$MLFLOW_VERSION" "sqlalchemy==$SQLALCHEMY_VERSION" >&2 \
  || die "pip install mlflow==$MLFLOW_VERSION failed (see above)"
installed || die "mlflow $MLFLOW_VERSION is still not importable from $MLFLOW_VENV"
say "installed mlflow $MLFLOW_VERSION"
