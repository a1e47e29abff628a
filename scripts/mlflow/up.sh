#!/usr/bin/env bash
# Starts an MLflow tracking server on 127.0.0.1 (SQLite backend store, artifact serving through
# the server's proxy), provisioning MLflow first if needed. Idempotent: a server these scripts
# started that still answers is reused. Prints the server's URL as its last line on stdout.
#
# Env: see common.sh; COELHO_MLFLOW_START_TIMEOUT_S (120).
set -euo pipefail
# shellcheck source=scripts/mlflow/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

start_timeout_s="${COELHO_MLFLOW_START_TIMEOUT_S:-120}"
[[ "$start_timeout_s" =~ ^[0-9]+$ ]] \
  || die "COELHO_MLFLOW_START_TIMEOUT_S: \"$start_timeout_s\" is not a whole number of seconds"
command -v curl >/dev/null 2>&1 || die "curl not found; the readiness probe needs it (apt-get install curl)"

bash "$SCRIPT_DIR/provision.sh"

wait_ready() {
  local pid="$1" deadline=$((SECONDS + start_timeout_s))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$MLFLOW_LOG_FILE" >&2 || true
      rm -f "$MLFLOW_PID_FILE"
      die "server (pid $pid) exited during start-up; log above, full log: $MLFLOW_LOG_FILE"
    fi
    if answers; then return 0; fi
    sleep 0.5
  done
  tail -n 30 "$MLFLOW_LOG_FILE" >&2 || true
  die "server (pid $pid) did not answer on $MLFLOW_URL within ${start_timeout_s}s; it is left running (stop it with scripts/mlflow/down.sh); full log: $MLFLOW_LOG_FILE"
}

mkdir -p "$MLFLOW_RUN_DIR" "$MLFLOW_DATA_DIR/artifacts"
pid="$(running_pid)"
if [[ -n "$pid" ]]; then
  wait_ready "$pid"
  say "reusing server pid $pid on $MLFLOW_URL"
  echo "$MLFLOW_URL"
  exit 0
fi
rm -f "$MLFLOW_PID_FILE"
if answers || (exec 3<>"/dev/tcp/127.0.0.1/$MLFLOW_PORT") 2>/dev/null; then
  die "port $MLFLOW_PORT on 127.0.0.1 is taken by a process these scripts did not start; stop it or set COELHO_MLFLOW_PORT to a free port"
fi

# setsid: the server (gunicorn and its workers) is one process group that down.sh stops whole.
# One worker: the tests and a small cluster need no more, and the machine has 2 cores.
setsid "$MLFLOW_VENV/bin/mlflow" server \
  --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
  --backend-store-uri "sqlite:///$MLFLOW_DATA_DIR/mlflow.sqlite" \
  --serve-artifacts --artifacts-destination "$MLFLOW_DATA_DIR/artifacts" \
  >"$MLFLOW_LOG_FILE" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$MLFLOW_PID_FILE"
say "starting server pid $pid on $MLFLOW_URL (data: $MLFLOW_DATA_DIR, log: $MLFLOW_LOG_FILE)"
wait_ready "$pid"
say "server answers on $MLFLOW_URL"
echo "$MLFLOW_URL"
