{{- define "trellis.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "trellis.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "trellis.labels" -}}
{{ include "trellis.selectorLabels" . }}
app.kubernetes.io/part-of: trellis
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "trellis.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "trellis.mongodbSecret" -}}
{{- default (printf "%s-mongodb" (include "trellis.fullname" .)) .Values.mongodb.existingSecret -}}
{{- end -}}

{{/* Environment shared by coordinator and workers: log level, and the token when set. */}}
{{- define "trellis.commonEnv" -}}
- name: TRELLIS_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- if .Values.auth.existingSecret }}
- name: TRELLIS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.existingSecretKey }}
{{- end }}
{{- end -}}

{{- define "trellis.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "trellis.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "trellis.tlsVolume" -}}
{{- if .Values.tls.existingSecret }}
- name: tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
{{- end }}
{{- end -}}

{{- define "trellis.tlsMount" -}}
{{- if .Values.tls.existingSecret }}
- name: tls
  mountPath: /etc/trellis/tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* Secret-file volumes: the tokens file (coordinator), NATS credentials and CAs. */}}
{{- define "trellis.secretVolumes" -}}
{{- $root := .root -}}
{{- if and .coordinator $root.Values.auth.tokensSecret }}
- name: tokens
  secret:
    secretName: {{ $root.Values.auth.tokensSecret }}
    items:
      - key: {{ $root.Values.auth.tokensSecretKey }}
        path: tokens.json
{{- end }}
{{- if and .coordinator $root.Values.nats.credsSecret }}
- name: nats-creds
  secret:
    secretName: {{ $root.Values.nats.credsSecret }}
{{- end }}
{{- if and .coordinator $root.Values.nats.caSecret }}
- name: nats-ca
  secret:
    secretName: {{ $root.Values.nats.caSecret }}
{{- end }}
{{- if and .coordinator $root.Values.mongodb.caSecret }}
- name: mongodb-ca
  secret:
    secretName: {{ $root.Values.mongodb.caSecret }}
{{- end }}
{{- end -}}

{{- define "trellis.secretMounts" -}}
{{- $root := .root -}}
{{- if and .coordinator $root.Values.auth.tokensSecret }}
- name: tokens
  mountPath: /etc/trellis/auth
  readOnly: true
{{- end }}
{{- if and .coordinator $root.Values.nats.credsSecret }}
- name: nats-creds
  mountPath: /etc/trellis/nats
  readOnly: true
{{- end }}
{{- if and .coordinator $root.Values.nats.caSecret }}
- name: nats-ca
  mountPath: /etc/trellis/nats-ca
  readOnly: true
{{- end }}
{{- if and .coordinator $root.Values.mongodb.caSecret }}
- name: mongodb-ca
  mountPath: /etc/trellis/mongodb-ca
  readOnly: true
{{- end }}
{{- end -}}
