{{/* The chart's name: app.kubernetes.io/name of every object. */}}
{{- define "woocommerce.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object's name; the provisioner always names the release `store`. */}}
{{- define "woocommerce.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "woocommerce.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "woocommerce.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: urumi-store
{{- end -}}

{{/* Selector labels of one component; call with (list $ "component"). */}}
{{- define "woocommerce.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "woocommerce.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Labels of one component's objects and pods; call with (list $ "component"). */}}
{{- define "woocommerce.componentLabels" -}}
{{ include "woocommerce.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The MariaDB Service's (and StatefulSet's) name; WordPress connects to it. */}}
{{- define "woocommerce.databaseHost" -}}
{{- printf "%s-mariadb" (include "woocommerce.fullname" .) -}}
{{- end -}}

{{/*
The setup Job's name carries a short hash of the chart version and the values: a changed release runs setup again,
an unchanged one keeps its completed Job.
*/}}
{{- define "woocommerce.setupJobName" -}}
{{- $hash := printf "%s\n%s" .Chart.Version (toJson .Values) | sha256sum | trunc 8 -}}
{{- printf "%s-setup-%s" (include "woocommerce.fullname" .) $hash -}}
{{- end -}}

{{/* An environment variable read from the provisioner's credentials Secret; call with (list $ "ENV_NAME" "key"). */}}
{{- define "woocommerce.credentialEnv" -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ (index . 0).Values.credentials.secretName }}
      key: {{ index . 2 }}
{{- end -}}

{{/* WordPress's configuration, shared by the web server and the setup Job (wp-config.php reads it at run time). */}}
{{- define "woocommerce.wordpressEnv" -}}
- name: WORDPRESS_DB_HOST
  value: {{ include "woocommerce.databaseHost" . | quote }}
- name: WORDPRESS_DB_NAME
  value: wordpress
- name: WORDPRESS_DB_USER
  value: wordpress
{{ include "woocommerce.credentialEnv" (list . "WORDPRESS_DB_PASSWORD" "database-password") }}
- name: URUMI_STORE_URL
  value: {{ .Values.store.url | quote }}
- name: WORDPRESS_CONFIG_EXTRA
  value: |
    define('WP_HOME', getenv('URUMI_STORE_URL'));
    define('WP_SITEURL', getenv('URUMI_STORE_URL'));
    // TLS ends at the Ingress: trust its X-Forwarded-Proto so WordPress builds https links and does not loop.
    if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && strpos($_SERVER['HTTP_X_FORWARDED_PROTO'], 'https') !== false) {
      $_SERVER['HTTPS'] = 'on';
    }
    // Code comes from the image (read-only root filesystem): no plugin, theme or core installs or updates.
    define('DISALLOW_FILE_MODS', true);
    define('AUTOMATIC_UPDATER_DISABLED', true);
    define('WP_TEMP_DIR', '/tmp/');
{{- end -}}

{{/* The securityContext every container starts from: no privilege escalation, no capabilities, RuntimeDefault seccomp. */}}
{{- define "woocommerce.restrictedContainer" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Where every pod of the store runs: the provisioner's node selector and tolerations (nothing: any node). */}}
{{- define "woocommerce.placement" -}}
{{- $placement := dict -}}
{{- with .Values.nodeSelector }}{{ $_ := set $placement "nodeSelector" . }}{{ end -}}
{{- with .Values.tolerations }}{{ $_ := set $placement "tolerations" . }}{{ end -}}
{{- with $placement }}{{ toYaml . }}{{ end -}}
{{- end -}}
