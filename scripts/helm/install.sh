#!/usr/bin/env bash
# Provision Helm (pinned) from the Go module proxy into ~/.cache/coelho-realtime/bin, once.
# Prints the helm binary's path as its last line on stdout; progress goes to stderr.
# Env: COELHO_CACHE_DIR (default ~/.cache/coelho-realtime).
set -euo pipefail
# The newest v3 the module proxy served when pinned; the chart is apiVersion v2 (Helm 3).
HELM_VERSION="v3.22.0"
# shellcheck source=scripts/helm/go-tool.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh"
# The Kubernetes version Helm assumes offline (`helm template` without --kube-version, lint) comes
# from its client-go (v0.37 -> 1.37), set by ldflags as Helm's Makefile does; without them a
# `go install`ed Helm assumes v1.20 and refuses the chart's kubeVersion. The version string too.
K8S_MINOR="37"
go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" "-s -w \
-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$K8S_MINOR"
