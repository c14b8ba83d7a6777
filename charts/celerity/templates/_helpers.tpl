{{/*
Names, labels, images and the wiring every template shares. Defines are celerity.<component>.<thing>.
*/}}

{{- define "celerity.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "celerity.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "celerity.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: only app.kubernetes.io/{name,instance,component}. Call with (dict "ctx" $ "component" "web"). */}}
{{- define "celerity.selectorLabels" -}}
app.kubernetes.io/name: {{ include "celerity.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* Every object's labels. Call with (dict "ctx" $ "component" "web"). */}}
{{- define "celerity.labels" -}}
helm.sh/chart: {{ include "celerity.chart" .ctx }}
{{ include "celerity.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: celerity
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* An image reference: registry/repository:tag[@digest]; the tag defaults to appVersion and is never latest.
Call with (dict "image" .Values.image "ctx" $ "key" "image"). */}}
{{- define "celerity.image" -}}
{{- $tag := toString (default .ctx.Chart.AppVersion .image.tag) -}}
{{- if eq $tag "latest" -}}
{{- fail (printf "%s.tag: `latest` is not allowed; pin a version (the chart's appVersion is %s)" .key .ctx.Chart.AppVersion) -}}
{{- end -}}
{{- $ref := printf "%s:%s" .image.repository $tag -}}
{{- with .image.registry }}{{ $ref = printf "%s/%s" . $ref }}{{ end -}}
{{- with .image.digest }}{{ $ref = printf "%s@%s" $ref . }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{- define "celerity.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "celerity.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "celerity.operator.serviceAccountName" -}}
{{- default (printf "%s-operator" (include "celerity.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "celerity.web.fullname" -}}{{ include "celerity.fullname" . }}-web{{- end -}}
{{- define "celerity.config.fullname" -}}{{ include "celerity.fullname" . }}-config{{- end -}}
{{- define "celerity.redis.fullname" -}}{{ include "celerity.fullname" . }}-redis{{- end -}}
{{- define "celerity.postgresql.fullname" -}}{{ include "celerity.fullname" . }}-postgresql{{- end -}}
{{- define "celerity.operator.fullname" -}}{{ include "celerity.fullname" . }}-operator{{- end -}}

{{/* A worker pool's Deployment name. Call with (dict "ctx" $ "pool" "bulk"). */}}
{{- define "celerity.worker.fullname" -}}
{{- printf "%s-worker-%s" (include "celerity.fullname" .ctx) .pool | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ---- Secrets: where each connection string and key lives -------------------------------------------------- */}}

{{- define "celerity.app.secretName" -}}
{{- default (printf "%s-app" (include "celerity.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The Secret and keys holding the broker URL: the built-in Redis, a URL given in values, or your own Secret. */}}
{{- define "celerity.redis.secretName" -}}
{{- if .Values.redis.enabled -}}
{{- include "celerity.redis.fullname" . -}}
{{- else if .Values.externalRedis.existingSecret -}}
{{- .Values.externalRedis.existingSecret -}}
{{- else -}}
{{- printf "%s-external-redis" (include "celerity.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "celerity.redis.urlKey" -}}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.existingSecret -}}
{{- .Values.externalRedis.existingSecretUrlKey -}}
{{- else -}}
redis-url
{{- end -}}
{{- end -}}

{{/* The key of the result backend URL, or nothing when results share the broker URL. */}}
{{- define "celerity.redis.resultUrlKey" -}}
{{- if .Values.redis.enabled -}}
redis-result-url
{{- else if .Values.externalRedis.existingSecret -}}
{{- .Values.externalRedis.existingSecretResultUrlKey -}}
{{- else if .Values.externalRedis.resultUrl -}}
redis-result-url
{{- end -}}
{{- end -}}

{{- define "celerity.database.secretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "celerity.postgresql.fullname" . -}}
{{- else if .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- else -}}
{{- printf "%s-external-database" (include "celerity.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "celerity.database.urlKey" -}}
{{- if and (not .Values.postgresql.enabled) .Values.externalDatabase.existingSecret -}}
{{- .Values.externalDatabase.existingSecretUrlKey -}}
{{- else -}}
database-url
{{- end -}}
{{- end -}}

{{/* A generated secret value that survives upgrades: the given value, else the one already in the cluster's Secret
(Bitnami's lookup pattern), else a new random one. Call with (dict "ctx" $ "secret" name "key" k "value" v "length" n). */}}
{{- define "celerity.secretValue" -}}
{{- if .value -}}
{{- .value -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- $data := dig "data" (dict) ($existing | default (dict)) -}}
{{- if hasKey $data .key -}}
{{- index $data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Inputs of every Secret the services read, hashed into the pods' checksum/secrets annotation: a changed password
or URL rolls the pods; generated values never change, so `helm template` stays stable. */}}
{{- define "celerity.secrets.checksum" -}}
{{- $inputs := dict "secrets" .Values.secrets "redis" (dict "enabled" .Values.redis.enabled "password" .Values.redis.password) "externalRedis" .Values.externalRedis "postgresql" (dict "enabled" .Values.postgresql.enabled "password" .Values.postgresql.password "username" .Values.postgresql.username "database" .Values.postgresql.database) "externalDatabase" .Values.externalDatabase -}}
{{- toJson $inputs | sha256sum -}}
{{- end -}}

{{/* ---- Environment of the services containers --------------------------------------------------------------- */}}

{{/* Non-secret settings: the ConfigMap's data, and the migration Job's inline env (the Job may run before the
ConfigMap exists). Integers go through int64: Helm reads numbers as floats, and 1000000 would print as 1e+06. */}}
{{- define "celerity.config.data" -}}
DJANGO_SETTINGS_MODULE: {{ .Values.config.settingsModule | quote }}
DJANGO_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
CELERITY_TASK_TIME_LIMIT: {{ .Values.config.taskTimeLimitSeconds | int64 | quote }}
CELERITY_RESULT_EXPIRES: {{ .Values.config.resultExpiresSeconds | int64 | quote }}
CELERITY_HEARTBEAT_INTERVAL: {{ .Values.config.heartbeatIntervalSeconds | quote }}
CELERITY_MAX_ITEMS: {{ .Values.config.maxItems | int64 | quote }}
CELERITY_WORKER_METRICS_PORT: {{ .Values.workers.metricsPort | int64 | quote }}
CELERITY_QUEUES: {{ include "celerity.workers.queues" . | quote }}
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* DJANGO_ALLOWED_HOSTS: the pod IP (kubelet probes, Prometheus scrapes), localhost (port-forwards), the web
Service's names, the Ingress hosts and config.allowedHosts. Needs POD_IP defined before it. */}}
{{- define "celerity.allowedHosts" -}}
{{- $svc := include "celerity.web.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list "$(POD_IP)" "localhost" "127.0.0.1" $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- if .Values.web.ingress.enabled -}}
{{- range .Values.web.ingress.hosts }}{{ $hosts = append $hosts .host }}{{ end -}}
{{- end -}}
{{- range .Values.config.allowedHosts }}{{ $hosts = append $hosts . }}{{ end -}}
{{- $hosts | uniq | join "," -}}
{{- end -}}

{{/* Secret-backed and downward-API variables every services container gets. Never a literal secret. */}}
{{- define "celerity.services.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: DJANGO_ALLOWED_HOSTS
  value: {{ include "celerity.allowedHosts" . | quote }}
- name: DJANGO_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "celerity.app.secretName" . }}
      key: django-secret-key
- name: CELERITY_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "celerity.app.secretName" . }}
      key: api-token
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "celerity.database.secretName" . }}
      key: {{ include "celerity.database.urlKey" . }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "celerity.redis.secretName" . }}
      key: {{ include "celerity.redis.urlKey" . }}
{{- with include "celerity.redis.resultUrlKey" . }}
- name: REDIS_RESULT_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "celerity.redis.secretName" $ }}
      key: {{ . }}
{{- end }}
- name: PROMETHEUS_MULTIPROC_DIR
  value: /run/celerity/metrics
- name: HOME
  value: /tmp
{{- end -}}

{{/* envFrom of the long-running services containers. */}}
{{- define "celerity.services.envFrom" -}}
- configMapRef:
    name: {{ include "celerity.config.fullname" . }}
{{- with .Values.config.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Writable directories under a read-only root filesystem: /tmp and the metrics directory. */}}
{{- define "celerity.services.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: metrics
  mountPath: /run/celerity/metrics
{{- end -}}

{{- define "celerity.services.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: metrics
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{- define "celerity.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/* Pod annotations that roll the pods when their configuration changes. */}}
{{- define "celerity.services.checksums" -}}
checksum/config: {{ include "celerity.config.data" . | sha256sum }}
checksum/secrets: {{ include "celerity.secrets.checksum" . }}
{{- end -}}

{{/* Every queue some enabled pool consumes (CELERITY_QUEUES: the queues a job may name), sorted, comma-separated. */}}
{{- define "celerity.workers.queues" -}}
{{- $queues := list -}}
{{- range $name, $raw := .Values.workers.pools -}}
{{- $pool := include "celerity.worker.pool" (dict "ctx" $ "pool" $raw) | fromJson -}}
{{- if $pool.enabled }}{{ $queues = concat $queues $pool.queues }}{{ end -}}
{{- end -}}
{{- $queues | uniq | sortAlpha | join "," -}}
{{- end -}}

{{/* The task time limit of a pool (its own or the global one). Call with (dict "ctx" $ "pool" $pool). */}}
{{- define "celerity.worker.timeLimit" -}}
{{- default .ctx.Values.config.taskTimeLimitSeconds .pool.taskTimeLimitSeconds | int -}}
{{- end -}}
