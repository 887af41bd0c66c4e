{{/*
Names and labels.
*/}}
{{- define "av.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "av.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "av.labels" -}}
{{ include "av.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
dnsceremony.io/org: {{ .Values.org | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "av.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- with .Values.image.digest }}{{ $ref = printf "%s@%s" $ref . }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/*
The Autonity client image: repository:tag, pinned with @digest when autonity.image.digest is set.
*/}}
{{- define "av.clientImage" -}}
{{- $img := .Values.autonity.image -}}
{{- $ref := printf "%s:%s" $img.repository $img.tag -}}
{{- with $img.digest }}{{ $ref = printf "%s@%s" $ref . }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/*
Pull policy of an image (the dict with repository/tag/digest/pullPolicy): as set, else
IfNotPresent when a digest pins it (the bytes cannot change) and Always when only a tag
names it (a tag can be moved).
*/}}
{{- define "av.pullPolicy" -}}
{{- if .pullPolicy }}{{ .pullPolicy }}{{ else if .digest }}IfNotPresent{{ else }}Always{{ end -}}
{{- end -}}

{{/*
The inline manifest parsed (empty dict with an existing ConfigMap). Fails on TOML errors.
*/}}
{{- define "av.manifestJson" -}}
{{- if .Values.manifest.content -}}
{{- $m := fromToml .Values.manifest.content -}}
{{- if hasKey $m "Error" -}}
{{- fail (printf "manifest.content: not valid TOML: %s" (get $m "Error")) -}}
{{- end -}}
{{- toJson $m -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* The genesis profile: values.profile, else the inline manifest's [ceremony] profile. */}}
{{- define "av.profile" -}}
{{- $m := include "av.manifestJson" . | fromJson -}}
{{- $fromManifest := "" -}}
{{- if hasKey $m "ceremony" -}}{{- $fromManifest = get (get $m "ceremony") "profile" | default "" | toString -}}{{- end -}}
{{- if and .Values.profile $fromManifest (ne .Values.profile $fromManifest) -}}
{{- fail (printf "profile: %q differs from the manifest's [ceremony] profile %q" .Values.profile $fromManifest) -}}
{{- end -}}
{{- $p := .Values.profile | default $fromManifest -}}
{{- if not $p -}}
{{- fail "profile: not set, and no [ceremony] profile in manifest.content (set profile: v1 or v0.7)" -}}
{{- end -}}
{{- if not (has $p (list "v1" "v0.7")) -}}
{{- fail (printf "profile: %q is not a known genesis profile (v1 or v0.7)" $p) -}}
{{- end -}}
{{- $p -}}
{{- end -}}

{{/* The network id: values.networkId, else the inline manifest's [genesis] network_id. */}}
{{- define "av.networkId" -}}
{{- $m := include "av.manifestJson" . | fromJson -}}
{{- $fromManifest := "" -}}
{{- if hasKey $m "genesis" -}}
{{- $g := get $m "genesis" -}}
{{- with (get $g "network_id") | default (get $g "chain_id") -}}{{- $fromManifest = . | int64 | toString -}}{{- end -}}
{{- end -}}
{{- $v := "" -}}
{{- if not (kindIs "invalid" .Values.networkId) -}}{{- $v = .Values.networkId | int64 | toString -}}{{- end -}}
{{- if and $v $fromManifest (ne $v $fromManifest) -}}
{{- fail (printf "networkId: %s differs from the manifest's [genesis] network_id (default chain_id) %s" $v $fromManifest) -}}
{{- end -}}
{{- $n := $v | default $fromManifest -}}
{{- if not $n -}}
{{- fail "networkId: not set, and no [genesis] network_id or chain_id in manifest.content (the client needs --networkid)" -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{/* Cross-field checks the JSON schema cannot express; included by the StatefulSet. */}}
{{- define "av.validate" -}}
{{- $m := include "av.manifestJson" . | fromJson -}}
{{- if hasKey $m "orgs" -}}
{{- $names := list -}}
{{- range (get $m "orgs") -}}{{- $names = append $names (get . "name" | toString) -}}{{- end -}}
{{- if not (has .Values.org $names) -}}
{{- fail (printf "org: %q is not an organisation of the manifest (orgs: %s)" .Values.org (join ", " $names)) -}}
{{- end -}}
{{- else if .Values.manifest.content -}}
{{- fail "manifest.content: no [[orgs]] in the manifest" -}}
{{- end -}}
{{- if and .Values.dns.roots .Values.dns.resolver -}}
{{- fail "dns.roots and dns.resolver: give one or neither, not both (iterative from roots, or through a resolver)" -}}
{{- end -}}
{{- if and (eq .Values.service.type "NodePort") .Values.service.loadBalancerIP -}}
{{- fail "service.loadBalancerIP: only meaningful with service.type LoadBalancer" -}}
{{- end -}}
{{- $_ := include "av.profile" . -}}
{{- $_ := include "av.networkId" . -}}
{{- end -}}

{{/* The ports published in DNS and listened on: the node ports with NodePort. */}}
{{- define "av.p2pPort" -}}
{{- if eq .Values.service.type "NodePort" -}}{{ .Values.service.nodePorts.p2p | int }}{{- else -}}{{ .Values.ports.p2p | int }}{{- end -}}
{{- end -}}
{{- define "av.consensusPort" -}}
{{- if eq .Values.service.type "NodePort" -}}{{ .Values.service.nodePorts.consensus | int }}{{- else -}}{{ .Values.ports.consensus | int }}{{- end -}}
{{- end -}}

{{/* Paths inside the pod. */}}
{{- define "av.manifestPath" -}}/etc/dnsceremony/manifest/manifest.toml{{- end -}}
{{- define "av.tsigPath" -}}/etc/dnsceremony/tsig/tsig.key{{- end -}}
{{- define "av.anchorPath" -}}/etc/dnsceremony/anchor/anchor.keys{{- end -}}
{{- define "av.dataDir" -}}/data{{- end -}}
{{- define "av.genesisPath" -}}/data/genesis.json{{- end -}}
{{/* The client's data directory: where `dnsceremony run` puts it, <datadir>/node. */}}
{{- define "av.clientDataDir" -}}/data/node{{- end -}}
{{- define "av.keysDir" -}}
{{- if .Values.keys.existingSecret -}}/etc/dnsceremony/keys{{- else -}}/data/keys{{- end -}}
{{- end -}}
{{- define "av.clientKeyFlag" -}}
{{- if eq (include "av.profile" .) "v1" -}}--autonitykeys{{- else -}}--nodekey{{- end -}}
{{- end -}}
{{- define "av.clientKeyFile" -}}
{{- if eq (include "av.profile" .) "v1" -}}{{ include "av.keysDir" . }}/autonitykeys{{- else -}}{{ include "av.keysDir" . }}/nodekey{{- end -}}
{{- end -}}
{{- define "av.hasAnchor" -}}
{{- if or .Values.dns.anchor.content .Values.dns.anchor.existingConfigMap -}}true{{- end -}}
{{- end -}}

{{/* The DNS arguments every dnsceremony command takes (YAML list items). */}}
{{- define "av.dnsArgs" -}}
{{- if include "av.hasAnchor" . }}
- --anchor
- {{ include "av.anchorPath" . }}
{{- end }}
{{- range .Values.dns.roots }}
- --root
- {{ . | quote }}
{{- end }}
{{- with .Values.dns.resolver }}
- --resolver
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* The DNS arguments of `dnsceremony audit`, which always iterates (no --resolver). */}}
{{- define "av.auditDnsArgs" -}}
{{- if include "av.hasAnchor" . }}
- --anchor
- {{ include "av.anchorPath" . }}
{{- end }}
{{- range .Values.dns.roots }}
- --root
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Volumes holding the manifest, TSIG key, anchor and keys (YAML list items). */}}
{{- define "av.configVolumes" -}}
- name: manifest
  configMap:
    name: {{ .Values.manifest.existingConfigMap | default (printf "%s-manifest" (include "av.fullname" .)) }}
    {{- if .Values.manifest.existingConfigMap }}
    items:
      - key: {{ .Values.manifest.key }}
        path: manifest.toml
    {{- end }}
{{- if include "av.hasAnchor" . }}
- name: anchor
  configMap:
    name: {{ .Values.dns.anchor.existingConfigMap | default (printf "%s-anchor" (include "av.fullname" .)) }}
    items:
      - key: {{ if .Values.dns.anchor.existingConfigMap }}{{ .Values.dns.anchor.key }}{{ else }}anchor.keys{{ end }}
        path: anchor.keys
{{- end }}
{{- end -}}
{{- define "av.tsigVolume" -}}
- name: tsig
  secret:
    secretName: {{ .Values.dns.tsig.existingSecret | default (printf "%s-tsig" (include "av.fullname" .)) }}
    defaultMode: 0400
    items:
      - key: {{ if .Values.dns.tsig.existingSecret }}{{ .Values.dns.tsig.key }}{{ else }}tsig.key{{ end }}
        path: tsig.key
{{- end -}}
{{- define "av.configMounts" -}}
- name: manifest
  mountPath: /etc/dnsceremony/manifest
  readOnly: true
{{- if include "av.hasAnchor" . }}
- name: anchor
  mountPath: /etc/dnsceremony/anchor
  readOnly: true
{{- end }}
{{- end -}}
{{- define "av.keysMount" -}}
{{- if .Values.keys.existingSecret }}
- name: keys
  mountPath: /etc/dnsceremony/keys
  readOnly: true
{{- end }}
{{- end -}}

{{/* The DNS arguments on one line, for commands shown to the user. */}}
{{- define "av.dnsArgsLine" -}}
{{- $a := list -}}
{{- if include "av.hasAnchor" . }}{{ $a = append $a (printf "--anchor %s" (include "av.anchorPath" .)) }}{{ end -}}
{{- range .Values.dns.roots }}{{ $a = append $a (printf "--root %s" .) }}{{ end -}}
{{- with .Values.dns.resolver }}{{ $a = append $a (printf "--resolver %s" .) }}{{ end -}}
{{- join " " $a -}}
{{- end -}}
