# shellcheck shell=bash
# Shared by the scripts that build a pinned Go tool from the Go module proxy (helm, actionlint).
# Sourced, never run. `go_tool NAME MODULE VERSION [LDFLAGS]` builds MODULE@VERSION into
# $COELHO_CACHE_DIR/bin/NAME-VERSION/NAME once, and prints the binary's path as the last line on
# stdout; a present binary is reused without touching the network.

go_tool() {
  local name=$1 module=$2 version=$3 ldflags=${4:-}
  local cache="${COELHO_CACHE_DIR:-$HOME/.cache/coelho-realtime}"
  local dir="$cache/bin/$name-$version"
  local bin="$dir/$name"
  if [[ -x "$bin" ]]; then
    echo "$bin"
    return 0
  fi
  # The official tarball's place, for shells whose PATH lacks it (CI runs with a bare environment).
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 || {
    printf '%s: error: go not found; install Go 1.24+ (apt-get install golang-go, or go.dev) to build %s@%s\n' "$name" "$module" "$version" >&2
    return 1
  }
  mkdir -p "$dir"
  # Two test processes may ask at once: one builds, the other waits for it (bounded: 15 min).
  exec 9>"$dir.lock"
  if ! flock -w 900 9; then
    printf '%s: error: another build of %s holds %s.lock for more than 15 min\n' "$name" "$version" "$dir" >&2
    return 1
  fi
  if [[ ! -x "$bin" ]]; then
    printf '%s: building %s@%s with %s into %s (first run only, takes minutes)\n' "$name" "$module" "$version" "$(go version)" "$dir" >&2
    # GOTOOLCHAIN=local: build with the Go that is installed rather than fetching another one.
    # CGO off: a static binary, no C toolchain needed.
    if ! GOBIN="$dir.tmp" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath \
      go install -ldflags "$ldflags" "$module@$version" >&2; then
      rm -rf "$dir.tmp"
      printf '%s: error: go install %s@%s failed (output above)\n' "$name" "$module" "$version" >&2
      return 1
    fi
    mv "$dir.tmp/$name" "$bin"
    rm -rf "$dir.tmp"
  fi
  flock -u 9
  echo "$bin"
}
