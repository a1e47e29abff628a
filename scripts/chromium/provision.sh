#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test (test/browser/). Idempotent: does
# nothing when /usr/bin/chromium exists. Debian's package, not a downloaded build: the machine
# reaches the Debian mirror but not Google's or Playwright's CDNs.
#
# Env: COELHO_CHROMIUM (default /usr/bin/chromium): the binary the test drives.
set -euo pipefail

CHROMIUM="${COELHO_CHROMIUM:-/usr/bin/chromium}"
say() { echo "chromium: $*" >&2; }
die() { echo "chromium: $*" >&2; exit 1; }

if [[ -x "$CHROMIUM" ]]; then
  say "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") already installed"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || die "$CHROMIUM is missing and apt-get is not available; install chromium and set COELHO_CHROMIUM"
SUDO=""
if [[ "$(id -u)" != "0" ]]; then
  command -v sudo >/dev/null 2>&1 || die "installing chromium needs root (apt-get install -y chromium)"
  SUDO="sudo"
fi
say "installing Debian's chromium (apt-get; takes a minute)"
$SUDO apt-get update -qq >&2 || die "apt-get update failed"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >&2 \
  || die "apt-get install chromium failed (see above)"
[[ -x "$CHROMIUM" ]] || die "chromium was installed but $CHROMIUM does not exist; set COELHO_CHROMIUM"
say "installed $("$CHROMIUM" --version 2>/dev/null)"
