#!/usr/bin/env bash
# Provision Prometheus and promtool from Debian's `prometheus` package (pinned), for the rule tests
# and the end-to-end observability test. Idempotent: does nothing when the pinned version is
# installed. The package's own service is never left running: the tests start their own server
# on 127.0.0.1 with their own config and data directory.
#
# Env: COELHO_PROMETHEUS_VERSION (the Debian package version, default below).
# Prints the promtool path as its last line on stdout; everything else goes to stderr.
set -euo pipefail

version="${COELHO_PROMETHEUS_VERSION:-2.42.0+ds-5+deb12u1}"
upstream="${version%%+*}"

say() { echo "prometheus: $*" >&2; }
die() {
  echo "prometheus: error: $*" >&2
  exit 1
}

installed() {
  command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 \
    && promtool --version 2>&1 | head -n1 | grep -q "version ${upstream}"
}

if ! installed; then
  command -v apt-get >/dev/null 2>&1 \
    || die "apt-get not found; install Prometheus ${upstream} (promtool and prometheus on PATH) yourself"
  [[ "$(id -u)" == "0" ]] || die "installing the prometheus package needs root (apt-get); run as root or install it first"
  say "installing Debian package prometheus=${version}"
  apt-get update -qq >&2
  # No service start in containers without an init system; where one exists we stop it below.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "prometheus=${version}" >&2 || die "apt-get install prometheus=${version} failed (see above)"
  installed || die "prometheus ${upstream} is still not on PATH after installing the package"
fi

# The package starts a server on :9090 where an init system runs; ours must not keep running.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  say "stopping the package's prometheus service (the tests run their own server)"
  systemctl stop prometheus >&2 || true
  systemctl disable prometheus >&2 2>/dev/null || true
elif [[ -x /etc/init.d/prometheus ]] && /etc/init.d/prometheus status >/dev/null 2>&1; then
  say "stopping the package's prometheus service (the tests run their own server)"
  /etc/init.d/prometheus stop >&2 || true
fi

command -v promtool
