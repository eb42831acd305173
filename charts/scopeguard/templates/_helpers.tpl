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

{{/* Labels every pod of this release has (web, worker, migration): used for co-location. */}}
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
{{- if eq .Values.database.type "sqlite" }}true{{ end }}
{{- end }}

{{/* The claim mounted at /var/lib/scopeguard, or "" for an emptyDir. */}}
{{- define "scopeguard.claimName" -}}
{{- if .Values.persistence.existingClaim }}
{{- .Values.persistence.existingClaim }}
{{- else if .Values.persistence.enabled }}
{{- include "scopeguard.fullname" . }}-data
{{- end }}
{{- end }}

{{/* "true" when every pod must run on one node: a ReadWriteOnce claim is shared by them. */}}
{{- define "scopeguard.colocate" -}}
{{- if and .Values.persistence.colocate (include "scopeguard.claimName" .) (not (has "ReadWriteMany" .Values.persistence.accessModes)) }}true{{- end }}
{{- end }}

{{/* Where each ${VAR} that comes from a Secret is mounted. */}}
{{- define "scopeguard.secretsDir" -}}/var/run/secrets/scopeguard{{- end }}

{{/*
The variables read from Secrets, as JSON: {"VAR": {"secret": name, "key": key}}.
Each is mounted as a file and VAR_FILE names it (config/loading.py), so no secret is
ever in a ConfigMap or in the pods' environment.
*/}}
{{- define "scopeguard.secretVariables" -}}
{{- $variables := dict }}
{{- range .Values.secrets.variables }}
{{- if not $.Values.secrets.existingSecret }}
{{- fail (printf "secrets.variables lists %s, but secrets.existingSecret (the Secret holding it) is empty" .) }}
{{- end }}
{{- $_ := set $variables . (dict "secret" $.Values.secrets.existingSecret "key" .) }}
{{- end }}
{{- range $name, $ref := .Values.secrets.variablesFrom }}
{{- $_ := set $variables $name (dict "secret" $ref.secret "key" $ref.key) }}
{{- end }}
{{- if not (include "scopeguard.usesSqlite" .) }}
{{- if not .Values.database.urlSecret.name }}
{{- fail "database.type=postgresql needs database.urlSecret.name: the Secret holding the SQLAlchemy URL (postgresql+psycopg://user:password@host:5432/db)" }}
{{- end }}
{{- $_ := set $variables "SCOPEGUARD_DATABASE_URL" (dict "secret" .Values.database.urlSecret.name "key" .Values.database.urlSecret.key) }}
{{- end }}
{{- toJson $variables }}
{{- end }}

{{/* The configuration file's content as a dict: the user's `config` and the chart's keys. */}}
{{- define "scopeguard.configValues" -}}
{{- $config := deepCopy (default (dict) .Values.config) }}
{{- if hasKey $config "database_url" }}
{{- fail "config.database_url is set by the chart: give database.type and (for PostgreSQL) database.urlSecret instead" }}
{{- end }}
{{- if get $config "database_auto_migrate" }}
{{- fail "config.database_auto_migrate must stay false: the chart migrates once per release with its Job (every replica migrating at start is what it prevents)" }}
{{- end }}
{{- $_ := set $config "database_auto_migrate" false }}
{{- if not (hasKey $config "instance_path") }}
{{- $_ := set $config "instance_path" "/var/lib/scopeguard" }}
{{- end }}
{{- if not (include "scopeguard.usesSqlite" .) }}
{{- $_ := set $config "database_url" "${SCOPEGUARD_DATABASE_URL}" }}
{{- end }}
{{- toJson $config }}
{{- end }}

{{/* The content of scopeguard.yaml. */}}
{{- define "scopeguard.configFile" -}}
{{- include "scopeguard.configValues" . | fromJson | toYaml }}
{{- end }}

{{/* Fail unless `value` is exactly one ${VAR} reference: a credential the chart must not store. */}}
{{- define "scopeguard.assertReference" -}}
{{- $path := index . 0 }}
{{- $value := index . 1 }}
{{- $fromSecrets := index . 2 }}
{{- if not (kindIs "invalid" $value) }}
{{- $text := toString $value }}
{{- if not (regexMatch "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$" $text) }}
{{- fail (printf "config.%s holds a credential: write ${VARIABLE} there and put VARIABLE in a Secret (secrets.variables); the chart never writes secrets into its ConfigMap" $path) }}
{{- end }}
{{- $name := trimSuffix "}" (trimPrefix "${" $text) }}
{{- if not (hasKey $fromSecrets $name) }}
{{- fail (printf "config.%s reads ${%s}, which must come from a Secret: add %s to secrets.variables or secrets.variablesFrom" $path $name $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The credentials of alert channels: a webhook's signing secret, a Slack or Teams URL. */}}
{{- define "scopeguard.assertChannels" -}}
{{- $prefix := index . 0 }}
{{- $fromSecrets := index . 2 }}
{{- range $index, $channel := (index . 1) }}
{{- $where := printf "%s[%d]" $prefix $index }}
{{- include "scopeguard.assertReference" (list (printf "%s.secret" $where) $channel.secret $fromSecrets) }}
{{- if has (toString $channel.type) (list "slack" "teams") }}
{{- include "scopeguard.assertReference" (list (printf "%s.url" $where) $channel.url $fromSecrets) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Everything that must hold before anything is rendered; each problem fails with a
message naming the value to change.
*/}}
{{- define "scopeguard.validate" -}}
{{- if include "scopeguard.usesSqlite" . }}
{{- if gt (int .Values.web.replicas) 1 }}
{{- fail (printf "database.type=sqlite allows one web replica, not %d: a SQLite file is safe for one web and one worker pod on one node; use PostgreSQL (database.type=postgresql) to scale" (int .Values.web.replicas)) }}
{{- end }}
{{- if and .Values.web.autoscaling.enabled (gt (int .Values.web.autoscaling.maxReplicas) 1) }}
{{- fail "database.type=sqlite cannot autoscale the web Deployment (web.autoscaling.enabled): use PostgreSQL to scale" }}
{{- end }}
{{- if gt (int .Values.worker.replicas) 1 }}
{{- fail (printf "database.type=sqlite allows one worker replica, not %d: use PostgreSQL for several workers (they share the clients)" (int .Values.worker.replicas)) }}
{{- end }}
{{- if not (include "scopeguard.claimName" .) }}
{{- fail "database.type=sqlite needs persistence.enabled (or persistence.existingClaim): the database file must outlive the pods and be shared by web and worker" }}
{{- end }}
{{- end }}
{{- $fromSecrets := include "scopeguard.secretVariables" . | fromJson }}
{{- $config := include "scopeguard.configValues" . | fromJson }}
{{- $jira := default (dict) $config.jira }}
{{- $web := default (dict) $config.web }}
{{- $smtp := default (dict) $config.smtp }}
{{- $alerts := default (dict) $config.alerts }}
{{- include "scopeguard.assertReference" (list "jira.api_token" $jira.api_token $fromSecrets) }}
{{- include "scopeguard.assertReference" (list "jira.pat" $jira.pat $fromSecrets) }}
{{- include "scopeguard.assertReference" (list "jira.webhook_secret" $jira.webhook_secret $fromSecrets) }}
{{- include "scopeguard.assertReference" (list "web.api_token" $web.api_token $fromSecrets) }}
{{- include "scopeguard.assertReference" (list "web.secret_key" $web.secret_key $fromSecrets) }}
{{- include "scopeguard.assertReference" (list "smtp.password" $smtp.password $fromSecrets) }}
{{- include "scopeguard.assertChannels" (list "alerts.channels" (default (list) $alerts.channels) $fromSecrets) }}
{{- range $index, $client := (default (list) $config.clients) }}
{{- include "scopeguard.assertChannels" (list (printf "clients[%d].alerts" $index) (default (list) $client.alerts) $fromSecrets) }}
{{- end }}
{{- /* Every ${VAR} without a default must be set, or every pod refuses to start. */}}
{{- $provided := keys $fromSecrets }}
{{- range .Values.extraEnv }}
{{- $provided = append $provided .name }}
{{- end }}
{{- range (regexFindAll "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" (toYaml $config) -1) }}
{{- $name := trimSuffix "}" (trimPrefix "${" .) }}
{{- if not (has $name $provided) }}
{{- fail (printf "the configuration reads ${%s}, which nothing sets: add %s to secrets.variables (from a Secret) or to extraEnv" $name $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Environment of every ScopeGuard container: no secret values, only the files' paths. */}}
{{- define "scopeguard.env" -}}
- name: SCOPEGUARD_CONFIG
  value: /etc/scopeguard/scopeguard.yaml
- name: HOME
  value: /tmp
- name: MPLCONFIGDIR
  value: /var/cache/scopeguard/matplotlib
- name: XDG_CACHE_HOME
  value: /var/cache/scopeguard
{{- range $name, $_ := (include "scopeguard.secretVariables" . | fromJson) }}
- name: {{ $name }}_FILE
  value: {{ include "scopeguard.secretsDir" $ }}/{{ $name }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Mounts of every ScopeGuard container; `instance` only where the data volume is mounted. */}}
{{- define "scopeguard.volumeMounts" -}}
{{- $root := index . 0 }}
{{- $instance := index . 1 -}}
- name: config
  mountPath: /etc/scopeguard
  readOnly: true
{{- if include "scopeguard.secretVariables" $root | fromJson }}
- name: secrets
  mountPath: {{ include "scopeguard.secretsDir" $root }}
  readOnly: true
{{- end }}
{{- if $instance }}
- name: instance
  mountPath: /var/lib/scopeguard
{{- end }}
- name: tmp
  mountPath: /tmp
- name: cache
  mountPath: /var/cache/scopeguard
{{- end }}

{{/* The pod volumes matching scopeguard.volumeMounts. */}}
{{- define "scopeguard.volumes" -}}
{{- $root := index . 0 }}
{{- $configMap := index . 1 }}
{{- $instance := index . 2 -}}
- name: config
  configMap:
    name: {{ $configMap }}
{{- $variables := include "scopeguard.secretVariables" $root | fromJson }}
{{- if $variables }}
{{- $bySecret := dict }}
{{- range $name, $ref := $variables }}
{{- $items := default (list) (get $bySecret $ref.secret) }}
{{- $_ := set $bySecret $ref.secret (append $items (dict "key" $ref.key "path" $name)) }}
{{- end }}
- name: secrets
  projected:
    # Readable by the pods' group (fsGroup), by no one else.
    defaultMode: 0440
    sources:
      {{- range $secret, $items := $bySecret }}
      - secret:
          name: {{ $secret }}
          items:
            {{- toYaml $items | nindent 12 }}
      {{- end }}
{{- end }}
{{- if $instance }}
- name: instance
{{- $claim := include "scopeguard.claimName" $root }}
{{- if $claim }}
  persistentVolumeClaim:
    claimName: {{ $claim }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ $root.Values.tmpVolume.sizeLimit }}
- name: cache
  emptyDir:
    sizeLimit: {{ $root.Values.cacheVolume.sizeLimit }}
{{- end }}

{{/* Pod affinity: the component's own, plus co-location of all pods on a ReadWriteOnce claim. */}}
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

{{/* The pod spec fields every ScopeGuard pod shares. */}}
{{- define "scopeguard.podCommon" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}
