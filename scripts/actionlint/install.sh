#!/usr/bin/env bash
# Provision actionlint (pinned) from the Go module proxy into ~/.cache/coelho-realtime/bin, once.
# Prints the actionlint binary's path as its last line on stdout; progress goes to stderr.
# Env: COELHO_CACHE_DIR (default ~/.cache/coelho-realtime).
set -euo pipefail
ACTIONLINT_VERSION="v1.7.12"
# shellcheck source=scripts/helm/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/../helm/go-tool.sh"
go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION"
