{{/* Where each connection string and key lives: the chart's own Secrets, or the user's (existingSecret). */}}

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
{{- define "celerity.secrets.value" -}}
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
