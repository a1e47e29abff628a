#!/usr/bin/env bash
# Installs the pinned schemathesis (API fuzzing from the OpenAPI document) into a virtualenv in
# the cache. Idempotent: skips pip when the venv already has the pinned version. Prints the path
# of the `st` binary on stdout.
#
# Env: COELHO_CACHE_DIR (~/.cache/coelho-realtime), COELHO_PYTHON (python3).
set -euo pipefail

# Pinned: the CLI flags used by test/api/schemathesis.test.ts were checked against this version.
SCHEMATHESIS_VERSION="4.32.5"
CACHE_DIR="${COELHO_CACHE_DIR:-$HOME/.cache/coelho-realtime}"
VENV="$CACHE_DIR/schemathesis-venv"
PYTHON="${COELHO_PYTHON:-python3}"
say() { echo "schemathesis: $*" >&2; }
die() { echo "schemathesis: $*" >&2; exit 1; }

installed() {
  [[ -x "$VENV/bin/st" ]] \
    && [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" == "$SCHEMATHESIS_VERSION" ]]
}

if ! installed; then
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3.9+ (Debian: apt-get install python3 python3-venv) or set COELHO_PYTHON"
  mkdir -p "$CACHE_DIR"
  say "creating $VENV and installing schemathesis==$SCHEMATHESIS_VERSION from PyPI"
  "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed; on Debian: apt-get install python3-venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2 \
    || die "pip install schemathesis==$SCHEMATHESIS_VERSION failed (see above)"
  installed || die "schemathesis $SCHEMATHESIS_VERSION is still not importable from $VENV"
  say "installed schemathesis $SCHEMATHESIS_VERSION"
fi
echo "$VENV/bin/st"
