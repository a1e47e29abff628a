#!/usr/bin/env bash
# Restart the dev broker with the same data: what tests use to take the broker away mid-stream.
# Prints the bootstrap address, as up.sh does.
set -euo pipefail
dir="$(dirname "${BASH_SOURCE[0]}")"
bash "$dir/down.sh"
bash "$dir/up.sh"
