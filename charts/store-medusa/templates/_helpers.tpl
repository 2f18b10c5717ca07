{{/* The chart's name: app.kubernetes.io/name of every object. */}}
{{- define "medusa.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object's name; the provisioner always names the release `store`. */}}
{{- define "medusa.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "medusa.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "medusa.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: urumi-store
{{- end -}}

{{/* Selector labels of one component; call with (list $ "component"). */}}
{{- define "medusa.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "medusa.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Labels of one component's objects and pods; call with (list $ "component"). */}}
{{- define "medusa.componentLabels" -}}
{{ include "medusa.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The PostgreSQL Service's (and StatefulSet's) name. */}}
{{- define "medusa.postgresHost" -}}
{{- printf "%s-postgres" (include "medusa.fullname" .) -}}
{{- end -}}

{{/* The Redis Service's (and Deployment's) name. */}}
{{- define "medusa.redisHost" -}}
{{- printf "%s-redis" (include "medusa.fullname" .) -}}
{{- end -}}

{{/*
A short hash of the chart version and the values. The setup Job's name carries it, so a changed release runs setup
again and an unchanged one keeps its completed Job; the server and worker wait for the setup of this revision.
*/}}
{{- define "medusa.revision" -}}
{{- printf "%s\n%s" .Chart.Version (toJson .Values) | sha256sum | trunc 8 -}}
{{- end -}}

{{- define "medusa.setupJobName" -}}
{{- printf "%s-setup-%s" (include "medusa.fullname" .) (include "medusa.revision" .) -}}
{{- end -}}

{{/* An environment variable read from the provisioner's credentials Secret; call with (list $ "ENV_NAME" "key"). */}}
{{- define "medusa.credentialEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ (index . 0).Values.credentials.secretName }}
      key: {{ index . 2 }}
{{- end -}}

{{/*
The database connection: the password from the Secret, spliced into the URL by Kubernetes ($(VAR) expansion). No TLS:
the database is the release's own, reached inside the namespace, and serves none (as the official image); without
sslmode=disable Medusa asks every host but localhost for TLS and its migrations time out.
*/}}
{{- define "medusa.databaseEnv" -}}
{{ include "medusa.credentialEnv" (list . "DATABASE_PASSWORD" "database-password") }}
- name: DATABASE_URL
  value: "postgres://medusa:$(DATABASE_PASSWORD)@{{ include "medusa.postgresHost" . }}:5432/medusa?sslmode=disable"
- name: REDIS_URL
  value: "redis://{{ include "medusa.redisHost" . }}:6379"
- name: URUMI_SETUP_REVISION
  value: {{ include "medusa.revision" . | quote }}
{{- end -}}

{{/* Medusa's configuration, shared by the server, the worker and the setup Job (medusa-config reads it at run time). */}}
{{- define "medusa.env" -}}
{{ include "medusa.databaseEnv" . }}
{{ include "medusa.credentialEnv" (list . "JWT_SECRET" "jwt-secret") }}
{{ include "medusa.credentialEnv" (list . "COOKIE_SECRET" "cookie-secret") }}
- name: STORE_CORS
  value: {{ .Values.store.url | quote }}
- name: ADMIN_CORS
  value: {{ .Values.store.url | quote }}
- name: AUTH_CORS
  value: {{ .Values.store.url | quote }}
- name: MEDUSA_PUBLISHABLE_KEY_TITLE
  value: {{ .Values.storefront.publishableKeyTitle | quote }}
- name: MEDUSA_DISABLE_TELEMETRY
  value: "true"
- name: NODE_ENV
  value: production
# Nothing under the read-only image is written; tools that want a home get the tmp emptyDir.
- name: HOME
  value: /tmp
{{- end -}}

{{/* The securityContext every container starts from: no privilege escalation, no capabilities, RuntimeDefault seccomp. */}}
{{- define "medusa.restrictedContainer" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The pod securityContext of the store image's pods: its unprivileged `node` user. */}}
{{- define "medusa.podSecurity" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Waits until the setup Job of this revision has finished (deploy/engines/medusa/bin/wait.js). */}}
{{- define "medusa.waitForSetup" -}}
- name: wait-for-setup
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: [node, bin/wait.js, setup]
  env:
    {{- include "medusa.databaseEnv" . | nindent 4 }}
    - name: WAIT_TIMEOUT_SECONDS
      value: {{ .Values.setup.activeDeadlineSeconds | quote }}
  resources:
    requests:
      cpu: 20m
      memory: 64Mi
    limits:
      cpu: 100m
      memory: 128Mi
  securityContext:
    {{- include "medusa.restrictedContainer" . | nindent 4 }}
{{- end -}}

{{/* One step of the setup Job; call with (list $ "migrate"|"admin"|"seed"). */}}
{{- define "medusa.setupStep" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  image: "{{ $root.Values.image.repository }}:{{ $root.Values.image.tag }}"
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command: [sh, bin/setup.sh, {{ index . 1 }}]
  env:
    {{- include "medusa.env" $root | nindent 4 }}
    {{- include "medusa.credentialEnv" (list $root "MEDUSA_ADMIN_PASSWORD" "admin-password") | nindent 4 }}
    - name: MEDUSA_ADMIN_EMAIL
      value: {{ $root.Values.store.adminEmail | quote }}
  resources:
    {{- toYaml $root.Values.setup.resources | nindent 4 }}
  securityContext:
    {{- include "medusa.restrictedContainer" $root | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: static
      mountPath: /app/static
{{- end -}}

{{/* Where every pod of the store runs: the provisioner's node selector and tolerations (nothing: any node). */}}
{{- define "medusa.placement" -}}
{{- $placement := dict -}}
{{- with .Values.nodeSelector }}{{ $_ := set $placement "nodeSelector" . }}{{ end -}}
{{- with .Values.tolerations }}{{ $_ := set $placement "tolerations" . }}{{ end -}}
{{- with $placement }}{{ toYaml . }}{{ end -}}
{{- end -}}
