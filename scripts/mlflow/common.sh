#!/usr/bin/env bash
# Shared settings of the MLflow scripts (sourced, not run). Everything lives under the cache
# directory, so a fresh clone provisions it from PyPI and later runs reuse it.
#
# Env: COELHO_CACHE_DIR (~/.cache/coelho-realtime), COELHO_MLFLOW_PORT (19600, LIFECYCLE's test
#      range 19600-19649), COELHO_MLFLOW_DATA_DIR (<cache>/mlflow-data-<port>), COELHO_PYTHON (python3).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"
# Pinned: the REST API calls of models/registry/mlflow-*.ts were checked against this version.
MLFLOW_VERSION="2.22.5"
# MLflow 2.22 imports a pool class SQLAlchemy 2.1 removed; pip would pick 2.1 unless told.
SQLALCHEMY_VERSION="2.0.44"
CACHE_DIR="${COELHO_CACHE_DIR:-$HOME/.cache/coelho-realtime}"
MLFLOW_VENV="$CACHE_DIR/mlflow-venv"
MLFLOW_PORT="${COELHO_MLFLOW_PORT:-19600}"
[[ "$MLFLOW_PORT" =~ ^[0-9]+$ ]] || { echo "COELHO_MLFLOW_PORT: \"$MLFLOW_PORT\" is not a port number" >&2; exit 2; }
MLFLOW_DATA_DIR="${COELHO_MLFLOW_DATA_DIR:-$CACHE_DIR/mlflow-data-$MLFLOW_PORT}"
MLFLOW_RUN_DIR="$CACHE_DIR/mlflow-run-$MLFLOW_PORT"
MLFLOW_PID_FILE="$MLFLOW_RUN_DIR/mlflow.pid"
MLFLOW_LOG_FILE="$MLFLOW_RUN_DIR/mlflow.log"
MLFLOW_URL="http://127.0.0.1:$MLFLOW_PORT"
PYTHON="${COELHO_PYTHON:-python3}"

say() { echo "mlflow: $*" >&2; }
die() { echo "mlflow: $*" >&2; exit 1; }

# The pid of a server these scripts started that is still alive, or nothing.
running_pid() {
  [[ -f "$MLFLOW_PID_FILE" ]] || return 0
  local pid
  pid="$(cat "$MLFLOW_PID_FILE")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

answers() {
  curl -fsS --max-time 2 "$MLFLOW_URL/health" >/dev/null 2>&1
}
