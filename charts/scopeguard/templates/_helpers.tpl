{{/* vim: set filetype=mustache: */}}

{{- define "scopeguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name, at most 63 characters (DNS label). */}}
{{- define "scopeguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "scopeguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every pod of this release has (web and worker): used for co-location. */}}
{{- define "scopeguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scopeguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "scopeguard.labels" -}}
helm.sh/chart: {{ include "scopeguard.chart" . }}
{{ include "scopeguard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: scopeguard
{{- end }}

{{- define "scopeguard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* "true" when the database is SQLite (a file in the instance volume). */}}
{{- define "scopeguard.usesSqlite" -}}
{{- $type := lower (toString .Values.database.type) }}
{{- if eq $type "sqlite" }}true
{{- else if eq $type "postgresql" }}
{{- else }}
{{- fail (printf "database.type must be sqlite or postgresql, not %q" .Values.database.type) }}
{{- end }}
{{- end }}

{{/* The claim mounted at /var/lib/scopeguard, or "" for an emptyDir. */}}
{{- define "scopeguard.claimName" -}}
{{- if .Values.persistence.existingClaim }}
{{- .Values.persistence.existingClaim }}
{{- else if and .Values.persistence.enabled (include "scopeguard.usesSqlite" .) }}
{{- include "scopeguard.fullname" . }}-instance
{{- end }}
{{- end }}

{{/* "true" when web and worker must run on one node (SQLite on a ReadWriteOnce volume). */}}
{{- define "scopeguard.colocate" -}}
{{- if and .Values.sqlite.colocate (include "scopeguard.usesSqlite" .) (include "scopeguard.claimName" .) (not (has "ReadWriteMany" .Values.persistence.accessModes)) }}true{{- end }}
{{- end }}

{{/* The content of scopeguard.yaml. */}}
{{- define "scopeguard.configFile" -}}
{{- if .Values.configFile }}
{{- .Values.configFile }}
{{- else }}
{{- $config := deepCopy (default (dict) .Values.config) }}
{{- if not (hasKey $config "instance_path") }}
{{- $_ := set $config "instance_path" "/var/lib/scopeguard" }}
{{- end }}
{{- if and (not (include "scopeguard.usesSqlite" .)) (not (hasKey $config "database_url")) }}
{{- $_ := set $config "database_url" "${SCOPEGUARD_DATABASE_URL}" }}
{{- end }}
{{- toYaml $config }}
{{- end }}
{{- end }}

{{/* Environment of the web and worker containers (and the migration init container). */}}
{{- define "scopeguard.env" -}}
- name: SCOPEGUARD_CONFIG
  value: /etc/scopeguard/scopeguard.yaml
- name: HOME
  value: /tmp
- name: MPLCONFIGDIR
  value: /tmp/matplotlib
- name: XDG_CACHE_HOME
  value: /tmp/.cache
{{- if not (include "scopeguard.usesSqlite" .) }}
{{- if .Values.database.existingSecret }}
- name: SCOPEGUARD_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.existingSecretKey }}
{{- else if .Values.database.url }}
- name: SCOPEGUARD_DATABASE_URL
  value: {{ .Values.database.url | quote }}
{{- else if not .Values.secrets.existingSecret }}
{{- fail "database.type=postgresql needs database.url, database.existingSecret, or SCOPEGUARD_DATABASE_URL in secrets.existingSecret" }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "scopeguard.envFrom" -}}
{{- with .Values.secrets.existingSecret }}
envFrom:
  - secretRef:
      name: {{ . }}
{{- end }}
{{- end }}

{{- define "scopeguard.volumeMounts" -}}
- name: config
  mountPath: /etc/scopeguard
  readOnly: true
- name: instance
  mountPath: /var/lib/scopeguard
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "scopeguard.volumes" -}}
- name: config
  configMap:
    name: {{ include "scopeguard.fullname" . }}-config
- name: instance
{{- $claim := include "scopeguard.claimName" . }}
{{- if $claim }}
  persistentVolumeClaim:
    claimName: {{ $claim }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir:
    {{- with .Values.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end }}

{{/* Pod affinity: the component's own, plus co-location of all pods for SQLite on RWO. */}}
{{- define "scopeguard.affinity" -}}
{{- $root := index . 0 }}
{{- $own := index . 1 }}
{{- if include "scopeguard.colocate" $root }}
{{- $colocate := dict "podAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list (dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "scopeguard.selectorLabels" $root | fromYaml))))) }}
{{- toYaml (merge (deepCopy (default (dict) $own)) $colocate) }}
{{- else if $own }}
{{- toYaml $own }}
{{- end }}
{{- end }}
