#!/usr/bin/env bash
# Stop the dev broker that scripts/kafka/up.sh started: SIGTERM (a controlled shutdown), a bounded
# wait, then SIGKILL. `--wipe` also deletes its data dir, so the next start is a fresh cluster.
#
# Env: as up.sh, plus COELHO_KAFKA_STOP_TIMEOUT_S (30).
set -euo pipefail
# shellcheck source=scripts/kafka/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wipe=false
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=true ;;
    *) die "unknown argument \"$arg\"; expected nothing or --wipe" ;;
  esac
done
stop_timeout_s="${COELHO_KAFKA_STOP_TIMEOUT_S:-30}"
[[ "$stop_timeout_s" =~ ^[0-9]+$ ]] \
  || die "COELHO_KAFKA_STOP_TIMEOUT_S: \"$stop_timeout_s\" is not a whole number of seconds"

pid="$(running_pid)"
if [[ -z "$pid" ]]; then
  say "no broker from these scripts is running on port $KAFKA_PORT"
else
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout_s))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "broker pid $pid still up after ${stop_timeout_s}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  say "stopped broker pid $pid"
fi
rm -f "$KAFKA_PID_FILE"

if [[ "$wipe" == true ]]; then
  rm -rf "$KAFKA_DATA_DIR"
  say "wiped $KAFKA_DATA_DIR"
fi
