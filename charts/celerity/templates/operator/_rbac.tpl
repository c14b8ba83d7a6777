{{/* The operator's permissions, rule for rule the calls celerity_operator makes (its kubeapi.RBAC_RULES and
CLUSTER_RBAC_RULES; tests/charts/test_operator_rbac.py keeps them equal). No wildcard anywhere. Secrets are
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

{{/* kopf's one cluster-wide need: it lists and watches CRDs (and namespaces) to learn the resource it serves. */}}
{{- define "celerity.operator.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end -}}

{{/* Cluster-scoped names carry the namespace: two releases of the same name in two namespaces must not collide. */}}
{{- define "celerity.operator.clusterRoleName" -}}
{{- printf "%s-%s" .Release.Namespace (include "celerity.operator.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
