{{/* Names and labels, as `helm create` lays them out. */}}

{{- define "coelho.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/*
The base of every resource name. Truncated to 40 characters so that "<fullname>-headless" and the
StatefulSet's pod names ("<fullname>-<ordinal>", plus the controller-revision-hash label) stay
within Kubernetes' 63-character limits.
*/}}
{{- define "coelho.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "coelho.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The headless Service: gives each pod its stable DNS name (the advertised address). */}}
{{- define "coelho.headlessName" -}}
{{- printf "%s-headless" (include "coelho.fullname" .) }}
{{- end }}

{{- define "coelho.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coelho.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object; the component label is added per object. */}}
{{- define "coelho.labels" -}}
helm.sh/chart: {{ include "coelho.chart" . }}
{{ include "coelho.selectorLabels" . }}
app.kubernetes.io/version: {{ include "coelho.imageTag" . | replace "+" "_" | trunc 63 | trimSuffix "-" | trimSuffix "." | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: coelho-realtime
{{- end }}

{{/* What selects the platform's pods (StatefulSet, Services, PDB, NetworkPolicy). */}}
{{- define "coelho.platformSelector" -}}
{{ include "coelho.selectorLabels" . }}
app.kubernetes.io/component: platform
{{- end }}

{{- define "coelho.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "coelho.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "coelho.imageTag" .) }}
{{- end }}

{{- define "coelho.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "coelho.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Seconds the kubelet waits after SIGTERM: the drain time plus a margin, rounded up. */}}
{{- define "coelho.terminationGraceSeconds" -}}
{{- add (div (add .Values.shutdownMs 999) 1000) .Values.terminationGraceExtraSeconds }}
{{- end }}

{{/* The hardened container security context every container of this chart runs with. */}}
{{- define "coelho.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "coelho.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Kafka connection settings shared by the platform and the simulator: brokers, TLS and SASL, the
credentials from existing Secrets only.
*/}}
{{- define "coelho.kafkaEnv" -}}
- name: COELHO_KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
{{- if .Values.kafka.tls.enabled }}
- name: COELHO_KAFKA_SSL
  value: "true"
{{- if .Values.kafka.tls.caSecret }}
- name: COELHO_KAFKA_SSL_CA_FILE
  value: /etc/coelho/kafka-ca/{{ .Values.kafka.tls.caKey }}
{{- end }}
{{- end }}
{{- if .Values.kafka.sasl.mechanism }}
- name: COELHO_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
- name: COELHO_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.usernameKey }}
- name: COELHO_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- end }}

{{- define "coelho.kafkaCaVolume" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret }}
    items:
      - key: {{ .Values.kafka.tls.caKey }}
        path: {{ .Values.kafka.tls.caKey }}
{{- end }}
{{- end }}

{{- define "coelho.kafkaCaMount" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/coelho/kafka-ca
  readOnly: true
{{- end }}
{{- end }}
