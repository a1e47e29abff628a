#!/usr/bin/env bash
# Stops the MLflow server that up.sh started on this port (its whole process group), if any.
# COELHO_MLFLOW_WIPE=1 also deletes its data directory (the tests' throwaway servers).
set -euo pipefail
# shellcheck source=scripts/mlflow/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

pid="$(running_pid)"
if [[ -n "$pid" ]]; then
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "server pid $pid did not stop within 10 s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  say "stopped server pid $pid on port $MLFLOW_PORT"
fi
rm -f "$MLFLOW_PID_FILE"
if [[ "${COELHO_MLFLOW_WIPE:-0}" == "1" ]]; then
  rm -rf "$MLFLOW_DATA_DIR"
fi
