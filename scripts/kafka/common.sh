# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables here are used by the scripts that source this file
# Shared settings for the Kafka dev scripts. Sourced, never run: it only defines variables and
# small functions, so every script agrees on where the broker's files live.

# 3.9.2 is the newest 3.9.x Maven Central serves; 3.9 is the last line that still speaks every
# protocol version kafkajs 2.2.4 uses (4.0 dropped the old ones).
KAFKA_VERSION="${COELHO_KAFKA_VERSION:-3.9.2}"
# Kafka 3.9 is built against slf4j 1.7.36; the binding must match that API line.
SLF4J_VERSION="1.7.36"
# The reload4j Kafka 3.9 ships; newer than the one slf4j-reload4j 1.7.36 pulls in by itself.
RELOAD4J_VERSION="1.2.25"
MAVEN_DEPENDENCY_PLUGIN_VERSION="3.8.1"

CACHE_DIR="${COELHO_CACHE_DIR:-$HOME/.cache/coelho-realtime}"
KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_MARKER="$KAFKA_HOME/.provisioned"

KAFKA_PORT="${COELHO_KAFKA_PORT:-19092}"
if ! [[ "$KAFKA_PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$KAFKA_PORT < 1 || 10#$KAFKA_PORT > 65534)); then
  printf 'kafka: error: COELHO_KAFKA_PORT: "%s" is not a port; expected 1..65534 (the controller takes port+1)\n' "$KAFKA_PORT" >&2
  exit 1
fi
KAFKA_PORT="$((10#$KAFKA_PORT))"
CONTROLLER_PORT="$((KAFKA_PORT + 1))"
KAFKA_DATA_DIR="${COELHO_KAFKA_DATA_DIR:-$CACHE_DIR/kafka-data}"
# Run files are per port, so two brokers on two ports (each with its own data dir) do not collide.
KAFKA_RUN_DIR="$CACHE_DIR/kafka-run-$KAFKA_PORT"
KAFKA_PID_FILE="$KAFKA_RUN_DIR/kafka.pid"
KAFKA_LOG_FILE="$KAFKA_RUN_DIR/kafka.log"
KAFKA_CONFIG="$KAFKA_RUN_DIR/server.properties"
KAFKA_LOG4J="$KAFKA_RUN_DIR/log4j.properties"
KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"

# Print one line to stderr, prefixed so it is clear which tool spoke.
say() { printf 'kafka: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The pid of the broker these scripts started on this port, if it is still alive; empty otherwise.
# Checks the command line too, so a recycled pid that now belongs to another program is ignored.
running_pid() {
  local pid
  [[ -f "$KAFKA_PID_FILE" ]] || return 0
  pid="$(cat "$KAFKA_PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $KAFKA_CONFIG"; then
    echo "$pid"
  fi
}

# True when something accepts TCP connections on the port (ours or not).
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
