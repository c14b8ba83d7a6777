{{/* Every queue some enabled pool consumes (CELERITY_QUEUES: the queues a job may name), sorted, comma-separated. */}}
{{- define "celerity.worker.queues" -}}
{{- $queues := list -}}
{{- range $name, $raw := .Values.workers.pools -}}
{{- $pool := include "celerity.worker.pool" (dict "ctx" $ "pool" $raw) | fromJson -}}
{{- if $pool.enabled }}{{ $queues = concat $queues $pool.queues }}{{ end -}}
{{- end -}}
{{- $queues | uniq | sortAlpha | join "," -}}
{{- end -}}
