{{/* The operator's permissions, rule for rule the calls celerity_operator makes (its kubeapi.RBAC_RULES and
CLUSTER_RBAC_RULES; tests/charts/test_chart_operator.py keeps them equal). No wildcard anywhere. Secrets are
narrowed to the broker Secrets WorkerPools may name. */}}
{{- define "celerity.operator.rules" -}}
- apiGroups: ["celerity.dev"]
  resources: ["workerpools"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["celerity.dev"]
  resources: ["workerpools/status"]
  verbs: ["patch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
  resourceNames:
    {{- toYaml (concat (list (include "celerity.redis.secretName" .)) .Values.operator.extraBrokerSecrets | uniq) | nindent 4 }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{/* kopf's cluster-wide needs: it lists and watches CRDs to learn the resource it serves, and, when it serves
named namespaces rather than all (--namespace, not --all-namespaces), lists and watches namespaces to find them.
Cluster-wide, kopf never reads namespaces, so they are not granted. */}}
{{- define "celerity.operator.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- if not .Values.operator.clusterWide }}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}
{{- end -}}

{{/* Cluster-scoped names carry the namespace: two releases of the same name in two namespaces must not collide. */}}
{{- define "celerity.operator.clusterRoleName" -}}
{{- printf "%s-%s" .Release.Namespace (include "celerity.operator.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
