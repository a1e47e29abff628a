#!/usr/bin/env bash
# Provision Prometheus and promtool from Debian's `prometheus` package, and amtool from
# `prometheus-alertmanager` (both pinned), for the rule and Alertmanager tests and the end-to-end
# observability test. Idempotent: does nothing when the pinned version is
# installed. The package's own service is never left running: the tests start their own server
# on 127.0.0.1 with their own config and data directory.
#
# Env: COELHO_PROMETHEUS_VERSION, COELHO_ALERTMANAGER_VERSION (Debian package versions, defaults
#      below).
# Prints the promtool path as its last line on stdout; everything else goes to stderr.
set -euo pipefail

version="${COELHO_PROMETHEUS_VERSION:-2.42.0+ds-5+deb12u1}"
upstream="${version%%+*}"
am_version="${COELHO_ALERTMANAGER_VERSION:-0.25.0-1+b4}"
am_upstream="${am_version%%-*}"

say() { echo "prometheus: $*" >&2; }
die() {
  echo "prometheus: error: $*" >&2
  exit 1
}

installed() {
  command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 \
    && promtool --version 2>&1 | head -n1 | grep -q "version ${upstream}" \
    && command -v amtool >/dev/null 2>&1 \
    && amtool --version 2>&1 | head -n1 | grep -q "version ${am_upstream}"
}

if ! installed; then
  command -v apt-get >/dev/null 2>&1 \
    || die "apt-get not found; install Prometheus ${upstream} (promtool and prometheus on PATH) yourself"
  [[ "$(id -u)" == "0" ]] || die "installing the prometheus package needs root (apt-get); run as root or install it first"
  say "installing Debian packages prometheus=${version} prometheus-alertmanager=${am_version}"
  apt-get update -qq >&2
  # No service start in containers without an init system; where one exists we stop it below.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "prometheus=${version}" "prometheus-alertmanager=${am_version}" >&2 \
    || die "apt-get install prometheus=${version} prometheus-alertmanager=${am_version} failed (see above)"
  installed || die "prometheus ${upstream} and amtool ${am_upstream} are still not on PATH after installing the packages"
fi

# The packages start servers (:9090, :9093) where an init system runs; ours must not keep running.
for service in prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    say "stopping the package's $service service (the tests run their own server)"
    systemctl stop "$service" >&2 || true
    systemctl disable "$service" >&2 2>/dev/null || true
  elif [[ -x "/etc/init.d/$service" ]] && "/etc/init.d/$service" status >/dev/null 2>&1; then
    say "stopping the package's $service service (the tests run their own server)"
    "/etc/init.d/$service" stop >&2 || true
  fi
done

command -v promtool
