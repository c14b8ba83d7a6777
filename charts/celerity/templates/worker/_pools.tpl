{{/* Deep merge of two maps where the override wins key by key, false and 0 included (sprig's mergeOverwrite
skips them). Call with (dict "base" map "over" map); returns JSON. */}}
{{- define "celerity.worker.merge" -}}
{{- $out := deepCopy .base -}}
{{- range $key, $value := .over -}}
{{- if kindIs "invalid" $value -}}
{{- else if and (kindIs "map" $value) (kindIs "map" (get $out $key)) -}}
{{- $_ := set $out $key (include "celerity.worker.merge" (dict "base" (get $out $key) "over" $value) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $key $value -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* A pool's effective settings: workers.poolDefaults overridden by the pool's own keys. Call with
(dict "ctx" $ "pool" $pool); returns JSON (use fromJson). */}}
{{- define "celerity.worker.pool" -}}
{{- include "celerity.worker.merge" (dict "base" .ctx.Values.workers.poolDefaults "over" (default (dict) .pool)) -}}
{{- end -}}

{{/* Checks across worker pools that a schema cannot express; each failure names the pool and the keys. */}}
{{- define "celerity.worker.validate" -}}
{{- $queueOwner := dict -}}
{{- $deploymentOwner := dict -}}
{{- range $name, $raw := .Values.workers.pools -}}
{{- $pool := include "celerity.worker.pool" (dict "ctx" $ "pool" $raw) | fromJson -}}
{{- if $pool.enabled -}}
{{- if not $pool.queues -}}
{{- fail (printf "workers.pools.%s.queues: a pool must consume at least one queue" $name) -}}
{{- end -}}
{{- range $pool.queues -}}
{{- if hasKey $queueOwner . -}}
{{- fail (printf "workers.pools: queue %q is consumed by both pools %q and %q; a queue belongs to one pool, whose replicas the operator scales on its backlog" . (get $queueOwner .) $name) -}}
{{- end -}}
{{- $_ := set $queueOwner . $name -}}
{{- end -}}
{{- $deployment := include "celerity.worker.fullname" (dict "ctx" $ "pool" $name) -}}
{{- if hasKey $deploymentOwner $deployment -}}
{{- fail (printf "workers.pools: duplicate pool names: %q and %q both become the Deployment %q; shorten the release name or rename a pool" (get $deploymentOwner $deployment) $name $deployment) -}}
{{- end -}}
{{- $_ := set $deploymentOwner $deployment $name -}}
{{- if and $pool.autoscaling.enabled $pool.hpa.enabled -}}
{{- fail (printf "workers.pools.%s: autoscaling.enabled (the operator, on queue depth) and hpa.enabled (CPU) both scale the same Deployment and would fight; enable one" $name) -}}
{{- end -}}
{{- if gt (int $pool.autoscaling.minReplicas) (int $pool.autoscaling.maxReplicas) -}}
{{- fail (printf "workers.pools.%s.autoscaling: minReplicas (%d) must not exceed maxReplicas (%d)" $name (int $pool.autoscaling.minReplicas) (int $pool.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if gt (int $pool.hpa.minReplicas) (int $pool.hpa.maxReplicas) -}}
{{- fail (printf "workers.pools.%s.hpa: minReplicas (%d) must not exceed maxReplicas (%d)" $name (int $pool.hpa.minReplicas) (int $pool.hpa.maxReplicas)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod labels of a pool: the selector labels, the pool (the monitors copy it to `pool`) and its WorkerPool (the
operator finds the pods by it to set deletion costs). Call with (dict "ctx" $ "pool" name). */}}
{{- define "celerity.worker.selectorLabels" -}}
{{ include "celerity.selectorLabels" (dict "ctx" .ctx "component" "worker") }}
celerity.dev/pool: {{ .pool }}
{{- end -}}

{{/* The task time limit of a pool (its own or the global one). Call with (dict "ctx" $ "pool" $pool). */}}
{{- define "celerity.worker.timeLimit" -}}
{{- default .ctx.Values.config.taskTimeLimitSeconds .pool.taskTimeLimitSeconds | int -}}
{{- end -}}
