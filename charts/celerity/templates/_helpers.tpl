{{/*
The chart's shared names and labels: every object's name and labels, image references, service accounts and pull
secrets. Chart-wide defines are celerity.<thing> (Helm's name/fullname/chart/labels convention); everything else is
celerity.<component>.<thing> and lives beside its component: app/_secrets.tpl (where each secret lives),
app/_env.tpl (the services containers' environment), worker/_pools.tpl and worker/_queues.tpl, operator/_rbac.tpl.
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

{{- define "celerity.app.serviceAccountName" -}}
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
{{- define "celerity.reconciler.fullname" -}}{{ include "celerity.fullname" . }}-reconciler{{- end -}}

{{/* A worker pool's Deployment name. Call with (dict "ctx" $ "pool" "bulk"). */}}
{{- define "celerity.worker.fullname" -}}
{{- printf "%s-worker-%s" (include "celerity.fullname" .ctx) .pool | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "celerity.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
{{ toYaml . }}
{{- end -}}
{{- end -}}
