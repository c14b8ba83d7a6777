{{/* The environment of the services containers (web, workers, migrations): settings, secrets by reference, the
writable directories, and the checksums that roll the pods. */}}

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
CELERITY_QUEUES: {{ include "celerity.worker.queues" . | quote }}
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* DJANGO_ALLOWED_HOSTS: the pod IP (kubelet probes, Prometheus scrapes), localhost (port-forwards), the web
Service's names, the Ingress hosts and config.allowedHosts. Needs POD_IP defined before it. */}}
{{- define "celerity.services.allowedHosts" -}}
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
  value: {{ include "celerity.services.allowedHosts" . | quote }}
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

{{/* Pod annotations that roll the pods when their configuration changes. */}}
{{- define "celerity.services.checksums" -}}
checksum/config: {{ include "celerity.config.data" . | sha256sum }}
checksum/secrets: {{ include "celerity.secrets.checksum" . }}
{{- end -}}
