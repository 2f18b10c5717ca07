{{- /*
The platform's alert rules, as a Prometheus rule file's groups; the PrometheusRule carries them, and the tests render
them from here (charts/test/alerts.test.yaml unit-tests each with promtool). Every alert's runbook is a paragraph of
deploy/README.md, under the alert's name.
*/ -}}
{{- define "platform.alertGroups" -}}
{{- $ns := printf "namespace=%q" .Release.Namespace -}}
{{- $runbook := .Values.monitoring.runbookUrl -}}
{{- $stuckAfter := add .Values.stores.provisionTimeoutSeconds .Values.monitoring.alerts.stuckMarginSeconds -}}
{{- $ratio := .Values.monitoring.alerts.failureRatio -}}
groups:
  - name: urumi-stores
    rules:
      - alert: UrumiStoreStuckProvisioning
        expr: max(urumi_store_provisioning_oldest_age_seconds{ {{- $ns -}} }) > {{ $stuckAfter }}
        for: 5m
        labels: { severity: warning }
        annotations:
          summary: A store has been provisioning for longer than its timeout
          description: >-
            The oldest store still provisioning was requested {{`{{ $value | humanizeDuration }}`}} ago; the
            provisioner fails a store after {{ .Values.stores.provisionTimeoutSeconds }}s, so nothing is deciding it.
          runbook_url: {{ printf "%s#urumistorestuckprovisioning" $runbook }}
      - alert: UrumiStoreFailureRatioHigh
        expr: |
          sum(increase(urumi_store_failures_total{ {{- $ns -}} }[30m]))
            / (
              sum(increase(urumi_store_failures_total{ {{- $ns -}} }[30m]))
              + (sum(increase(urumi_store_provisioning_duration_seconds_count{ {{- $ns -}} }[30m])) or vector(0))
            ) > {{ $ratio }}
          and
          sum(increase(urumi_store_failures_total{ {{- $ns -}} }[30m])) >= 3
        labels: { severity: warning }
        annotations:
          summary: More than {{ mulf $ratio 100 }}% of the stores provisioned in the last 30 minutes failed
          description: >-
            {{`{{ $value | humanizePercentage }}`}} of the stores that finished provisioning in the last 30 minutes
            failed; `sum by (reason) (increase(urumi_store_failures_total[30m]))` says why.
          runbook_url: {{ printf "%s#urumistorefailureratiohigh" $runbook }}
  - name: urumi-messaging
    rules:
      - alert: UrumiDeadLetters
        expr: max(urumi_deadletter_messages{ {{- $ns -}} }) > 0
        for: 5m
        labels: { severity: warning }
        annotations:
          summary: Messages are waiting in the DEADLETTER stream
          description: >-
            {{`{{ $value }}`}} message(s) could not be handled and were set aside; each is a request or event the
            platform did not act on. `npm run dlq -- list` shows them.
          runbook_url: {{ printf "%s#urumideadletters" $runbook }}
      - alert: UrumiConsumerLagGrowing
        expr: |
          max by (consumer) (urumi_jetstream_consumer_pending_messages{ {{- $ns -}} }) > 0
          and
          max by (consumer) (delta(urumi_jetstream_consumer_pending_messages{ {{- $ns -}} }[10m])) > 0
        for: 10m
        labels: { severity: warning }
        annotations:
          summary: The durable consumer {{`{{ $labels.consumer }}`}} is falling behind
          description: >-
            {{`{{ $value }}`}} messages wait for {{`{{ $labels.consumer }}`}} and the backlog has grown for 10 minutes:
            its service is down, stalled or slower than the requests.
          runbook_url: {{ printf "%s#urumiconsumerlaggrowing" $runbook }}
  - name: urumi-services
    rules:
      - alert: UrumiNoLeader
        expr: sum by (lease) (urumi_leader_election_is_leader{ {{- $ns -}} }) < 1
        for: 1m
        labels: { severity: critical }
        annotations:
          summary: No replica leads the {{`{{ $labels.lease }}`}} Lease
          description: >-
            Replicas of the service run but none has led its Lease for a minute: the provisioner's lease is the one
            that provisions stores, cleanup's the one that tears them down, so that work has stopped.
          runbook_url: {{ printf "%s#uruminoleader" $runbook }}
{{- range $service := list "gateway" "quota" "provisioner" "cleanup" }}
      - alert: UrumiServiceDown
        expr: absent(up{job={{ $service | quote }}, {{ $ns -}} } == 1)
        for: 2m
        labels: { severity: critical, service: {{ $service }} }
        annotations:
          summary: No {{ $service }} replica answers its metrics scrape
          description: >-
            Prometheus has not scraped a live {{ $service }} replica for 2 minutes: every replica is down, crash-looping
            or unreachable.
          runbook_url: {{ printf "%s#urumiservicedown" $runbook }}
{{- end }}
{{- end -}}
