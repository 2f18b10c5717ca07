{{- /* The release's base name: cluster-scoped objects (ClusterRoles, their bindings) and every workload carry it. */ -}}
{{- define "platform.fullname" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "platform.labels" -}}
app.kubernetes.io/name: urumi
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: urumi
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- /* Labels of one component's objects; call with (dict "root" $ "component" "gateway"). */ -}}
{{- define "platform.componentLabels" -}}
{{ include "platform.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- /* What selects one component's pods (stable across upgrades: never add a label here). */ -}}
{{- define "platform.selectorLabels" -}}
app.kubernetes.io/name: urumi
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- /*
A platform image: <registry>/urumi/<service>:<tag>, or urumi/<service>:<tag> for images imported into the cluster;
with the service's digest in images.digests, <…>:<tag>@<digest> (the digest is what is pulled).
*/ -}}
{{- define "platform.image" -}}
{{- $images := .root.Values.images -}}
{{- $repository := printf "urumi/%s" .service -}}
{{- if $images.registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" $images.registry) $repository }}{{ end -}}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $images.tag) -}}
{{- with get $images.digests .service }}@{{ . }}{{ end -}}
{{- end -}}

{{- /* Where the platform's pods run: nodeSelector and tolerations (at the pod spec's indentation). */ -}}
{{- define "platform.placement" -}}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- /* The Lease a component's replicas elect their leader on; call with (dict "root" $ "component" "cleanup"). */ -}}
{{- define "platform.leaseName" -}}
{{ include "platform.fullname" .root }}-{{ .component }}
{{- end -}}

{{- define "platform.natsName" -}}
{{ include "platform.fullname" . }}-nats
{{- end -}}

{{- /* The client URL every service connects to (the NATS Service; clients learn the other cluster members from it). */ -}}
{{- /* The Secret with each service's NATS password (nats.auth). */ -}}
{{- define "platform.natsAuthSecret" -}}
{{ .Values.nats.auth.existingSecret | default (printf "%s-auth" (include "platform.natsName" .)) }}
{{- end -}}

{{- /*
What each service may do on NATS, besides reading replies on _INBOX.> and feeding DEADLETTER (deadletter.>):
- streams: the streams whose definition it owns (it creates them and keeps them at their definition); every other
  service only looks them up (STORES and DEADLETTER) and waits for the owner to create them.
- buckets: the KV buckets (streams KV_<bucket>) it owns and uses; binds: buckets another service owns that it reads
  and writes. Nobody reads a bucket outside its two lists: no get, no direct get, no watch.
- consumers: its durable consumers on STORES by name (@urumi/messaging's <durablePrefix>-<pattern>): it creates,
  updates, pulls from and acks those alone, so no service can repoint or drain another's.
- reads: streams it reads page by page with short-lived ordered consumers (the gateway's audit trail).
- publish / deny: the subjects it publishes to, and the ones it must not (only quota decides: the gateway, which
  faces the internet, cannot approve).
*/ -}}
{{- define "platform.natsGrants" -}}
gateway:
  streams: [STORES, AUDIT, DEADLETTER]
  buckets: [stores, store-names, idempotency, rate-limits]
  consumers: [gateway-store-all]
  reads: [AUDIT]
  publish: ["store.cmd.>", "audit.>"]
quota:
  buckets: [quota]
  consumers: [quota-store-cmd-create, quota-store-status-deleted]
  publish: [store.status.approved, store.status.rejected]
provisioner:
  buckets: [store-lifecycle]
  consumers: [provisioner-store-status-approved]
  publish: ["store.status.>"]
  deny: [store.status.approved, store.status.rejected]
cleanup:
  binds: [store-lifecycle]
  consumers: [cleanup-store-cmd-delete]
  publish: ["store.status.>"]
  deny: [store.status.approved, store.status.rejected]
{{- end -}}

{{- /*
The NATS users: one per service (platform.natsGrants), subscriber (other services reading the store events, when
nats.subscriber.enabled) and admin (everything: backups, `npm run dlq`) for people.
*/ -}}
{{- define "platform.natsUsers" -}}
{{- $users := include "platform.natsGrants" . | fromYaml | keys | sortAlpha -}}
{{- if .Values.nats.subscriber.enabled }}{{ $users = append $users "subscriber" }}{{ end -}}
{{ append $users "admin" | toJson }}
{{- end -}}

{{- define "platform.natsUrl" -}}
nats://{{ include "platform.natsName" . }}.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}:4222
{{- end -}}

{{- define "platform.consoleOrigin" -}}
{{ ternary "https" "http" .Values.ingress.tls.enabled }}://{{ .Values.ingress.host }}
{{- end -}}

{{- /* Pod-level security: non-root, RuntimeDefault seccomp (Pod Security "restricted"). */ -}}
{{- define "platform.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "platform.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- /*
One service's Deployment and Service. Call with (dict "root" $ "component" "quota" "port" 8081 "values" $.Values.quota
"serviceAccount" "urumi-quota" "automount" false "env" (list ...) "volumes" "" "mounts" "" "leaderElection" false
"autoscaling" false "metricsPort" 0 "drainSeconds" 0). A metricsPort is a container port of its own, not on the Service.
drainSeconds keeps a pod that takes traffic serving that long after it is told to stop (a preStop sleep), while the
Service's endpoints and the ingress controller let go of it; its SIGTERM comes after. With
leaderElection, the pod stands for its component's Lease (its name from the downward API, the Lease's name and the
timings from .Values.leaderElection): replicas may surge during a rollout, as only the Lease's holder acts.
*/ -}}
{{- define "platform.service" -}}
{{- $root := .root -}}
{{- $env := upper .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "platform.fullname" $root }}-{{ .component }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "platform.componentLabels" . | nindent 4 }}
spec:
  {{- if not .autoscaling }}
  replicas: {{ .values.replicas | default 1 }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels: {{- include "platform.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels: {{- include "platform.componentLabels" . | nindent 8 }}
      {{- with .checksum }}
      annotations:
        checksum/config: {{ . }}
      {{- end }}
    spec:
      serviceAccountName: {{ .serviceAccount }}
      automountServiceAccountToken: {{ .automount }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: 30
      securityContext: {{- include "platform.podSecurityContext" $root | nindent 8 }}
      {{- with $root.Values.images.pullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      {{- with include "platform.placement" $root | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels: {{- include "platform.selectorLabels" . | nindent 14 }}
      containers:
        - name: {{ .component }}
          image: {{ include "platform.image" (dict "root" $root "service" .component) }}
          imagePullPolicy: {{ $root.Values.images.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .port }}
              protocol: TCP
            {{- with .metricsPort }}
            - name: metrics
              containerPort: {{ . }}
              protocol: TCP
            {{- end }}
          env:
            - name: {{ $env }}_HOST
              value: 0.0.0.0
            - name: {{ $env }}_PORT
              value: {{ .port | quote }}
            - name: NATS_URL
              value: {{ include "platform.natsUrl" $root | quote }}
            - name: NATS_USER
              value: {{ .component }}
            - name: NATS_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ include "platform.natsAuthSecret" $root }}
                  key: {{ .component }}
            - name: NATS_REPLICAS
              value: {{ $root.Values.nats.replicas | quote }}
            - name: NODE_OPTIONS
              value: {{ $root.Values.nodeOptions | quote }}
            - name: LOG_LEVEL
              value: {{ $root.Values.logLevel | quote }}
            {{- range .env }}
            - name: {{ .name }}
              value: {{ .value | toString | quote }}
            {{- end }}
            {{- if .leaderElection }}
            {{- $election := $root.Values.leaderElection }}
            {{- if le (float64 $election.leaseDurationSeconds) (float64 $election.renewDeadlineSeconds) }}
            {{- fail "leaderElection.leaseDurationSeconds must be greater than renewDeadlineSeconds (the leader stops before its lease expires)" }}
            {{- end }}
            {{- if le (float64 $election.renewDeadlineSeconds) (mulf 1.2 $election.retryPeriodSeconds) }}
            {{- fail "leaderElection.renewDeadlineSeconds must be greater than 1.2 × retryPeriodSeconds" }}
            {{- end }}
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: LEADER_ELECTION
              value: {{ $election.enabled | quote }}
            - name: LEADER_ELECTION_NAMESPACE
              value: {{ $root.Release.Namespace | quote }}
            - name: LEADER_ELECTION_LEASE_NAME
              value: {{ include "platform.leaseName" (dict "root" $root "component" .component) | quote }}
            - name: LEASE_DURATION_SECONDS
              value: {{ $election.leaseDurationSeconds | quote }}
            - name: RENEW_DEADLINE_SECONDS
              value: {{ $election.renewDeadlineSeconds | quote }}
            - name: RETRY_PERIOD_SECONDS
              value: {{ $election.retryPeriodSeconds | quote }}
            {{- end }}
          startupProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          {{- with .drainSeconds }}
          lifecycle:
            preStop:
              sleep: { seconds: {{ . }} }
          {{- end }}
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources: {{- toYaml .values.resources | nindent 12 }}
          securityContext: {{- include "platform.containerSecurityContext" $root | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- with .mounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        # The only writable path: Node's and Helm's temporary files (the root filesystem is read-only).
        - name: tmp
          emptyDir:
            sizeLimit: {{ .tmpSize | default "64Mi" }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "platform.fullname" $root }}-{{ .component }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "platform.componentLabels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector: {{- include "platform.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ ternary 80 .port (eq .component "gateway") }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{- /* A Kubernetes binary quantity (64Mi) in bytes, as nats-server reads it without any unit ambiguity. */ -}}
{{- define "platform.natsBytes" -}}
{{- $factors := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 -}}
{{- $number := regexReplaceAll "^([0-9]+)(Ki|Mi|Gi|Ti)$" . "${1}" | int64 -}}
{{- mul $number (get $factors (regexReplaceAll "^[0-9]+" . "")) -}}
{{- end -}}

{{- /* nats-server's configuration (its checksum restarts the servers when it changes). */ -}}
{{- define "platform.natsConfig" -}}
{{- $name := include "platform.natsName" . -}}
{{- $v := .Values.nats -}}
server_name: $SERVER_NAME
port: 4222
http_port: 8222
# Finish in-flight work and hand clients over before stopping (within terminationGracePeriodSeconds).
lame_duck_duration: 30s
lame_duck_grace_period: 10s
# Each service's own user, allowed what it needs and nothing else (a publish or subscription outside its list is
# refused); the passwords come from the environment (the Secret platform.natsAuthSecret).
authorization {
  users: [
    {{- range $user, $grant := include "platform.natsGrants" . | fromYaml }}
    {
      user: {{ $user }}
      password: ${{ printf "NATS_PASSWORD_%s" (upper $user) }}
      permissions: {
        publish: {
          allow: [
            "$JS.API.INFO",
            {{- range $stream := concat (list "STORES" "DEADLETTER") ($grant.streams | default list) | uniq }}
            "$JS.API.STREAM.INFO.{{ $stream }}",
            {{- end }}
            {{- range $stream := $grant.streams }}
            "$JS.API.STREAM.CREATE.{{ $stream }}", "$JS.API.STREAM.UPDATE.{{ $stream }}",
            {{- end }}
            {{- range $durable := $grant.consumers }}
            "$JS.API.CONSUMER.CREATE.STORES.{{ $durable }}", "$JS.API.CONSUMER.CREATE.STORES.{{ $durable }}.>",
            "$JS.API.CONSUMER.DURABLE.CREATE.STORES.{{ $durable }}", "$JS.API.CONSUMER.INFO.STORES.{{ $durable }}",
            "$JS.API.CONSUMER.MSG.NEXT.STORES.{{ $durable }}", "$JS.ACK.STORES.{{ $durable }}.>",
            {{- end }}
            {{- range $stream := $grant.reads }}
            # Ordered consumers (a generated name, no filter), gone with the page they read.
            "$JS.API.CONSUMER.CREATE.{{ $stream }}.*", "$JS.API.CONSUMER.MSG.NEXT.{{ $stream }}.*",
            "$JS.API.CONSUMER.DELETE.{{ $stream }}.*",
            {{- end }}
            {{- range $bucket := concat ($grant.buckets | default list) ($grant.binds | default list) }}
            # KV {{ $bucket }}: put/delete, get (direct or not), watch and keys (ordered push consumers).
            "$KV.{{ $bucket }}.>", "$JS.API.STREAM.INFO.KV_{{ $bucket }}", "$JS.API.DIRECT.GET.KV_{{ $bucket }}.>",
            "$JS.API.STREAM.MSG.GET.KV_{{ $bucket }}", "$JS.API.CONSUMER.CREATE.KV_{{ $bucket }}",
            "$JS.API.CONSUMER.CREATE.KV_{{ $bucket }}.>", "$JS.API.CONSUMER.DELETE.KV_{{ $bucket }}.*",
            "$JS.FC.KV_{{ $bucket }}.>",
            {{- end }}
            {{- range $bucket := $grant.buckets }}
            "$JS.API.STREAM.CREATE.KV_{{ $bucket }}", "$JS.API.STREAM.UPDATE.KV_{{ $bucket }}",
            {{- end }}
            "deadletter.>",
            {{- range $grant.publish }}
            {{ . | quote }},
            {{- end }}
          ]
          {{- with $grant.deny }}
          deny: [{{ range $i, $subject := . }}{{ if $i }}, {{ end }}{{ $subject | quote }}{{ end }}]
          {{- end }}
        }
        subscribe: { allow: ["_INBOX.>"] }
      }
    }
    {{- end }}
    {{- if $v.subscriber.enabled }}
    # Other services building on the store events (proto/EVENTS.md): read-only. Each of its durable consumers on
    # STORES, filtered to store.status.> (the filter is part of the create request's subject), read and acknowledged;
    # no publish, no other consumer, stream or bucket.
    {
      user: subscriber
      password: $NATS_PASSWORD_SUBSCRIBER
      permissions: {
        publish: {
          allow: [
            "$JS.API.INFO", "$JS.API.STREAM.INFO.STORES",
            {{- range $durable := $v.subscriber.consumers }}
            "$JS.API.CONSUMER.CREATE.STORES.{{ $durable }}.store.status.>", "$JS.API.CONSUMER.INFO.STORES.{{ $durable }}",
            "$JS.API.CONSUMER.MSG.NEXT.STORES.{{ $durable }}", "$JS.ACK.STORES.{{ $durable }}.>",
            {{- end }}
          ]
        }
        subscribe: { allow: ["_INBOX.>"] }
      }
    }
    {{- end }}
    { user: admin, password: $NATS_PASSWORD_ADMIN }
  ]
}
jetstream {
  store_dir: /data
  max_memory_store: {{ include "platform.natsBytes" $v.jetstream.maxMemoryStore }}
  max_file_store: {{ include "platform.natsBytes" $v.jetstream.maxFileStore }}
}
{{- if gt (int $v.replicas) 1 }}
cluster {
  name: urumi
  port: 6222
  routes: [
    {{- range $i := until (int $v.replicas) }}
    nats://{{ $name }}-{{ $i }}.{{ $name }}-headless.{{ $.Release.Namespace }}.svc.{{ $.Values.clusterDomain }}:6222
    {{- end }}
  ]
  connect_retries: 120
}
{{- end }}
{{- end -}}
