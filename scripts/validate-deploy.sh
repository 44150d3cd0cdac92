#!/usr/bin/env bash
# Checks every file of deploy/ with the tool that understands it (CI runs this through scripts/test.sh):
#
#   systemd unit        systemd-analyze verify (any warning fails), systemd-analyze security (exposure <= MAX_EXPOSURE)
#   docker-compose.yml  docker-compose config (Debian's docker-compose 1.29: the compose file schema)
#   Prometheus configs  promtool check config (deploy/prometheus.yml, deploy/compose/prometheus.yml, rules loaded)
#   Alertmanager        amtool check-config deploy/alertmanager/alertmanager.yml; every alert the rules
#                       name in its inhibit rules exists in alerts/
#   OTel Collector      structural check: every pipeline names receivers/processors/exporters that are defined
#   Grafana provisioning  yamllint + structural check of datasources and dashboard providers
#   Kubernetes          kubernetes-validate --strict (PyPI; Kubernetes' own schemas, offline) for core kinds;
#                       ServiceMonitor/PrometheusRule against prometheus-operator's CRD schemas
#                       (npm @kubernetes-models/prometheus-operator) and for unknown fields (PyPI
#                       cloudcoil-models-prometheus-operator); promtool check rules on the
#                       PrometheusRule's spec; scripts/gen-prometheusrule.sh --check (in sync with alerts/)
#   exporter configs    wechat-mp-exporter check-config on every config shipped in deploy/
#   all YAML            yamllint (relaxed, long lines allowed)
#
#   bash scripts/validate-deploy.sh
#   WECHAT_MP_EXPORTER=path/to/binary bash scripts/validate-deploy.sh   # else cargo builds one
#   VALIDATE_CACHE=dir                                                  # where the npm validator is kept
# Missing tools are installed (apt-get, pip, npm). Exits non-zero on the first failing check.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'validate-deploy: %s\n' "$*" >&2; }
fail() { printf 'validate-deploy: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'validate-deploy: ok   %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
CACHE=${VALIDATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wechat-mp-exporter/validate-deploy}
WORK=$(mktemp -d /tmp/validate-deploy.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export PATH=$PATH:/usr/sbin:/sbin

# --- tools --------------------------------------------------------------------------------------
apt_pkgs=()
command -v systemd-analyze >/dev/null || apt_pkgs+=(systemd)
command -v docker-compose >/dev/null || apt_pkgs+=(docker-compose)
command -v promtool >/dev/null || apt_pkgs+=(prometheus)
command -v amtool >/dev/null || apt_pkgs+=(prometheus-alertmanager)
command -v node >/dev/null || apt_pkgs+=(nodejs)
command -v npm >/dev/null || apt_pkgs+=(npm)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  say "installing ${apt_pkgs[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi
# The Python validators live in a virtualenv of their own under $CACHE (pinned; rebuilt when the pins change).
PIP_PKGS=(kubernetes-validate==1.37.0 yamllint==1.38.0 pyyaml cloudcoil-models-prometheus-operator==0.80.1.0)
VENV=$CACHE/venv
if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "${PIP_PKGS[*]}" ]; then
  say "installing ${PIP_PKGS[*]} (pip, into $VENV)"
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PIP_PKGS[@]}" || fail "pip install ${PIP_PKGS[*]}"
  echo "${PIP_PKGS[*]}" >"$VENV/.pins"
fi
PY=$VENV/bin/python
kubernetes_validate() { "$PY" -m kubernetes_validate "$@"; }
yamllint() { "$PY" -m yamllint "$@"; }
PO_VERSION=6.0.0
if [ ! -f "$CACHE/node_modules/@kubernetes-models/prometheus-operator/package.json" ] ||
   ! grep -q "\"version\": \"$PO_VERSION\"" "$CACHE/node_modules/@kubernetes-models/prometheus-operator/package.json"; then
  say "installing @kubernetes-models/prometheus-operator@$PO_VERSION (npm, into $CACHE)"
  mkdir -p "$CACHE"
  npm install --silent --no-audit --no-fund --prefix "$CACHE" \
    "@kubernetes-models/prometheus-operator@$PO_VERSION" js-yaml@4 >/dev/null
fi

# --- systemd ------------------------------------------------------------------------------------
# verify checks that ExecStart= exists: run it in a root holding the unit, a stand-in binary and
# systemd's own units, and fail on any message (unknown keys are only warnings).
UNIT=deploy/systemd/wechat-mp-exporter.service
root=$WORK/sdroot
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/bin" "$root/usr/lib/systemd"
printf '#!/bin/sh\n' >"$root/usr/local/bin/wechat-mp-exporter" && chmod +x "$root/usr/local/bin/wechat-mp-exporter"
cp /bin/kill "$root/bin/kill"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$UNIT" "$root/etc/systemd/system/"
out=$(systemd-analyze verify --root="$root" wechat-mp-exporter.service 2>&1) || { echo "$out" >&2; fail "systemd-analyze verify $UNIT"; }
[ -z "$out" ] || { echo "$out" >&2; fail "systemd-analyze verify $UNIT printed warnings"; }
sec=$(systemd-analyze security --offline=yes "$UNIT" 2>&1) || { echo "$sec" >&2; fail "systemd-analyze security $UNIT"; }
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$sec")
[ -n "$exposure" ] || { echo "$sec" >&2; fail "no exposure level from systemd-analyze security"; }
awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN {exit !(e + 0 <= m + 0)}' ||
  { echo "$sec" >&2; fail "systemd-analyze security exposure $exposure > $MAX_EXPOSURE"; }
ok "$UNIT: systemd-analyze verify clean, security exposure $exposure (max $MAX_EXPOSURE)"

# --- compose ------------------------------------------------------------------------------------
COMPOSE=deploy/docker-compose.yml
out=$(docker-compose -f "$COMPOSE" config -q 2>&1) || { echo "$out" >&2; fail "docker-compose config $COMPOSE"; }
[ -z "$out" ] || { echo "$out" >&2; fail "docker-compose config $COMPOSE printed warnings"; }
# Every file or directory the compose file mounts from the repository exists.
docker-compose -f "$COMPOSE" config 2>/dev/null | "$PY" -c '
import sys, os, yaml
doc = yaml.safe_load(sys.stdin)
missing = []
for name, svc in doc["services"].items():
    for v in svc.get("volumes", []):
        src = v["source"] if isinstance(v, dict) else v.split(":")[0]
        kind = v.get("type") if isinstance(v, dict) else ("bind" if "/" in src else "volume")
        if kind == "bind" and not os.path.exists(src):
            missing.append(f"{name}: {src}")
if missing:
    sys.exit("missing mount sources: " + ", ".join(missing))
' || fail "$COMPOSE mounts a path that does not exist"
ok "$COMPOSE: docker-compose config $(docker-compose version --short 2>/dev/null), every mounted path exists"

# --- Prometheus ---------------------------------------------------------------------------------
out=$(promtool check config deploy/prometheus.yml 2>&1) || { echo "$out" >&2; fail "promtool check config deploy/prometheus.yml"; }
# The compose config loads rules/*.yml next to it (the repository's alerts/ mounted there).
mkdir -p "$WORK/prom" && cp deploy/compose/prometheus.yml "$WORK/prom/" && ln -s "$PWD/alerts" "$WORK/prom/rules"
out=$(promtool check config "$WORK/prom/prometheus.yml" 2>&1) || { echo "$out" >&2; fail "promtool check config deploy/compose/prometheus.yml"; }
grep -q "SUCCESS: .*rules found" <<<"$out" || { echo "$out" >&2; fail "deploy/compose/prometheus.yml loads no rules"; }
ok "deploy/prometheus.yml, deploy/compose/prometheus.yml: promtool check config (rules loaded)"

# --- Alertmanager -------------------------------------------------------------------------------
AM=deploy/alertmanager/alertmanager.yml
out=$(amtool check-config "$AM" 2>&1) || { echo "$out" >&2; fail "amtool check-config $AM"; }
# The alert names its inhibit rules spell out exist in the rules (a renamed alert would silently
# stop being inhibited); a regex prefix such as WechatMpApi must start some alert's name.
for name in $(grep -o 'WechatMp[A-Za-z]*' "$AM" | sort -u); do
  grep -q "alert: $name" alerts/*.yml || fail "$AM names $name, which no rule in alerts/ defines"
done
grep -q "alertmanager:9093" deploy/compose/prometheus.yml || fail "deploy/compose/prometheus.yml does not send alerts to alertmanager:9093"
ok "$AM: amtool check-config, every alert it names is defined; the compose Prometheus sends to it"

# --- OpenTelemetry Collector (no collector binary here: structural check) -----------------------
"$PY" - deploy/compose/otel-collector.yaml <<'PYEOF' || fail "deploy/compose/otel-collector.yaml"
import sys, yaml
path = sys.argv[1]
c = yaml.safe_load(open(path))
errors = []
for section in ("receivers", "exporters", "service"):
    if section not in c:
        errors.append(f"no {section}")
pipes = c.get("service", {}).get("pipelines", {})
if "metrics" not in pipes:
    errors.append("no metrics pipeline")
for name, p in pipes.items():
    for kind in ("receivers", "processors", "exporters"):
        for comp in p.get(kind, []):
            if comp not in (c.get(kind) or {}):
                errors.append(f"pipeline {name} names {kind[:-1]} {comp}, which is not defined")
    if not p.get("receivers") or not p.get("exporters"):
        errors.append(f"pipeline {name} needs receivers and exporters")
for ext in c.get("service", {}).get("extensions", []):
    if ext not in (c.get("extensions") or {}):
        errors.append(f"extension {ext} is not defined")
grpc = ((c.get("receivers", {}).get("otlp") or {}).get("protocols") or {}).get("grpc") or {}
if not str(grpc.get("endpoint", "")).endswith(":4317"):
    errors.append("the otlp receiver does not listen on gRPC :4317 (the exporter's [otlp] endpoint)")
if errors:
    sys.exit(f"{path}: " + "; ".join(errors))
PYEOF
grep -q 'endpoint = "http://otel-collector:4317"' deploy/compose/wechat-mp-exporter.toml ||
  fail "deploy/compose/wechat-mp-exporter.toml does not push to otel-collector:4317"
ok "deploy/compose/otel-collector.yaml: pipelines reference defined components, OTLP gRPC on :4317 (structural; no collector binary)"

# --- Grafana provisioning -----------------------------------------------------------------------
"$PY" - <<'PYEOF' || fail "Grafana provisioning"
import glob, sys, yaml
errors = []
for path in glob.glob("deploy/grafana/provisioning/datasources/*.yaml") + glob.glob("deploy/compose/grafana/datasources/*.yaml"):
    d = yaml.safe_load(open(path))
    if d.get("apiVersion") != 1 or not d.get("datasources"):
        errors.append(f"{path}: apiVersion 1 and datasources expected")
    for ds in d.get("datasources", []):
        if ds.get("type") != "prometheus" or not str(ds.get("url", "")).startswith("http"):
            errors.append(f"{path}: datasource {ds.get('name')} needs type prometheus and an http url")
for path in glob.glob("deploy/grafana/provisioning/dashboards/*.yaml"):
    d = yaml.safe_load(open(path))
    for p in d.get("providers", []):
        if p.get("type") != "file" or not p.get("options", {}).get("path"):
            errors.append(f"{path}: provider {p.get('name')} needs type file and options.path")
if errors:
    sys.exit("\n".join(errors))
PYEOF
ok "Grafana provisioning (datasources, dashboard provider)"

# --- Kubernetes ---------------------------------------------------------------------------------
K=deploy/kubernetes
core=()
crs=()
for f in "$K"/*.yaml; do
  if grep -q '^apiVersion: monitoring.coreos.com/' "$f"; then crs+=("$f"); else core+=("$f"); fi
done
out=$(kubernetes_validate --strict --quiet "${core[@]}" 2>&1) || { echo "$out" >&2; fail "kubernetes-validate --strict"; }
ok "${core[*]}: kubernetes-validate --strict ($(kubernetes_validate --version 2>&1 | tail -1))"
cat >"$CACHE/validate-crs.mjs" <<'JSEOF'
// Validates prometheus-operator custom resources against the CRD schemas that
// @kubernetes-models/prometheus-operator ships (compiled from prometheus-operator's Go types).
import { readFileSync } from "node:fs";
import { loadAll } from "js-yaml";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
const kinds = { ServiceMonitor, PrometheusRule, PodMonitor };
let failed = false;
for (const path of process.argv.slice(2)) {
  for (const doc of loadAll(readFileSync(path, "utf8"))) {
    if (!doc) continue;
    const Kind = kinds[doc.kind];
    try {
      if (!Kind || doc.apiVersion !== Kind.apiVersion) throw new Error(`unknown ${doc.apiVersion} ${doc.kind}`);
      new Kind(doc).validate();
      if (!doc.metadata?.name) throw new Error("metadata.name missing");
      console.log(`${path}: ${doc.kind}/${doc.metadata.name} valid`);
    } catch (e) {
      failed = true;
      console.error(`${path}: ${e.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
JSEOF
out=$(node "$CACHE/validate-crs.mjs" "${crs[@]}" 2>&1) || { echo "$out" >&2; fail "prometheus-operator CRD schema"; }
# Those schemas accept unknown fields (the API server prunes them): catch misspelt ones against
# prometheus-operator's types as cloudcoil's pydantic models have them.
"$PY" - "${crs[@]}" <<'PYEOF2' || fail "unknown fields in ${crs[*]}"
import sys, typing, yaml
from pydantic import BaseModel
from cloudcoil.models.prometheus_operator import v1

def models_in(tp):
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for a in typing.get_args(tp) for m in models_in(a)]

def unknown(model, data, path):
    if not isinstance(data, dict):
        return []
    fields = {}
    for name, f in model.model_fields.items():
        fields[name] = fields[f.alias or name] = f
    errors = []
    for k, v in data.items():
        if k not in fields:
            errors.append(f"{path}.{k}: unknown field (not in {model.__name__})")
            continue
        subs = models_in(fields[k].annotation)
        for item in (v if isinstance(v, list) else [v]) if subs else []:
            errors += unknown(subs[0], item, f"{path}.{k}")
    return errors

errors = []
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        if not doc:
            continue
        model = getattr(v1, doc.get("kind", ""), None)
        if model is None:
            errors.append(f"{path}: unknown kind {doc.get('kind')}")
            continue
        try:
            model.model_validate(doc)
        except Exception as e:
            errors.append(f"{path}: {e}")
            continue
        errors += [f"{path}: {e}" for e in unknown(model, doc, doc["kind"])]
if errors:
    sys.exit("\n".join(errors))
PYEOF2
ok "${crs[*]}: prometheus-operator CRD schemas (@kubernetes-models/prometheus-operator $PO_VERSION), no unknown field (cloudcoil models)"
# The PrometheusRule's spec is a Prometheus rule file: check it as one.
"$PY" -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["spec"], open(sys.argv[2], "w"))' \
  "$K/prometheusrule.yaml" "$WORK/prometheusrule-spec.yml"
out=$(promtool check rules --lint=all --lint-fatal "$WORK/prometheusrule-spec.yml" 2>&1) || { echo "$out" >&2; fail "promtool check rules on $K/prometheusrule.yaml's spec"; }
bash scripts/gen-prometheusrule.sh --check || fail "$K/prometheusrule.yaml is out of sync with alerts/wechat-mp.rules.yml"
ok "$K/prometheusrule.yaml: promtool check rules on its spec, in sync with alerts/wechat-mp.rules.yml"
# The ServiceMonitor scrapes the Service's port by name, and the Deployment's pods carry the
# Service's selector.
"$PY" - "$K" <<'PYEOF' || fail "$K: the objects do not fit together"
import sys, yaml
k = sys.argv[1]
load = lambda n: yaml.safe_load(open(f"{k}/{n}.yaml"))
svc, sm, dep, cm = load("service"), load("servicemonitor"), load("deployment"), load("configmap")
pod = dep["spec"]["template"]
errors = []
if any(pod["metadata"]["labels"].get(a) != b for a, b in svc["spec"]["selector"].items()):
    errors.append("the Service's selector does not match the Deployment's pods")
if any(svc["metadata"]["labels"].get(a) != b for a, b in sm["spec"]["selector"]["matchLabels"].items()):
    errors.append("the ServiceMonitor's selector does not match the Service")
ports = {p["name"] for p in svc["spec"]["ports"]}
for ep in sm["spec"]["endpoints"]:
    if ep.get("port") not in ports:
        errors.append(f"ServiceMonitor port {ep.get('port')} is not a Service port")
if svc["metadata"]["name"] != "wechat-mp-exporter":
    errors.append("the alert rules need job=wechat-mp-exporter: the Service (the job label) must have that name")
c = pod["spec"]["containers"][0]
sc, psc = c.get("securityContext", {}), pod["spec"].get("securityContext", {})
if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False and psc.get("runAsNonRoot")):
    errors.append("the container must be non-root with a read-only root filesystem and no privilege escalation")
if "config.toml" not in cm["data"]:
    errors.append("the ConfigMap has no config.toml")
# The sharded StatefulSet: its pods are the Service's too, and pod I polls shard I of spec.replicas.
sts = load("statefulset-sharded")
spod = sts["spec"]["template"]
if any(spod["metadata"]["labels"].get(a) != b for a, b in svc["spec"]["selector"].items()):
    errors.append("the Service's selector does not match the StatefulSet's pods")
sc0 = spod["spec"]["containers"][0]
if f"--shard=$(POD_INDEX)/{sts['spec']['replicas']}" not in sc0["args"]:
    errors.append("the StatefulSet's --shard must be $(POD_INDEX)/spec.replicas")
if not any(e["name"] == "POD_INDEX" for e in sc0.get("env", [])):
    errors.append("the StatefulSet's container has no POD_INDEX")
if errors:
    sys.exit("\n".join(errors))
PYEOF
ok "$K: Service, ServiceMonitor, Deployment and the sharded StatefulSet fit together; non-root, read-only root filesystem"

# --- exporter configs ---------------------------------------------------------------------------
if [ -n "${WECHAT_MP_EXPORTER:-}" ]; then
  BIN=$WECHAT_MP_EXPORTER
else
  say "building wechat-mp-exporter for check-config (cargo build --locked)"
  cargo build --locked -q --bin wechat-mp-exporter
  BIN=${CARGO_TARGET_DIR:-target}/debug/wechat-mp-exporter
fi
check_config() { # FILE LABEL [ENV=VALUE ...]
  local file=$1 label=$2; shift 2
  local out
  if ! out=$(env "$@" "$BIN" check-config --config.file="$file" 2>&1); then
    echo "$out" >&2
    fail "check-config $label"
  fi
  ok "$label: wechat-mp-exporter check-config"
}
check_config deploy/compose/wechat-mp-exporter.toml deploy/compose/wechat-mp-exporter.toml \
  DEMO_1_APP_SECRET=placeholder DEMO_2_APP_SECRET=placeholder DEMO_3_APP_SECRET=placeholder
# The systemd config reads its secrets from the unit's credentials directory: point that path at
# placeholder files for the check.
mkdir -p "$WORK/credentials"
sed "s|/run/credentials/wechat-mp-exporter.service/|$WORK/credentials/|" deploy/systemd/config.toml >"$WORK/systemd-config.toml"
grep -o "$WORK/credentials/[A-Za-z0-9_.-]*" "$WORK/systemd-config.toml" | while read -r f; do echo placeholder >"$f"; done
check_config "$WORK/systemd-config.toml" deploy/systemd/config.toml
for cred in $(grep -o '/run/credentials/wechat-mp-exporter.service/[A-Za-z0-9_.-]*' deploy/systemd/config.toml | sed 's|.*/||'); do
  grep -q "^LoadCredential=$cred:" "$UNIT" || fail "deploy/systemd/config.toml reads credential $cred, which $UNIT does not load"
done
# The ConfigMap's config.toml, with the Secret's keys as its environment.
"$PY" -c 'import sys, yaml; open(sys.argv[2], "w").write(yaml.safe_load(open(sys.argv[1]))["data"]["config.toml"])' \
  "$K/configmap.yaml" "$WORK/k8s-config.toml"
mapfile -t k8s_env < <("$PY" -c 'import sys, yaml; [print(f"{k}={v}") for k, v in yaml.safe_load(open(sys.argv[1]))["stringData"].items()]' "$K/secret.yaml")
check_config "$WORK/k8s-config.toml" "$K/configmap.yaml config.toml" "${k8s_env[@]}"

# --- YAML style ---------------------------------------------------------------------------------
out=$(yamllint -d '{extends: relaxed, rules: {line-length: disable}}' deploy/ 2>&1) || { echo "$out" >&2; fail "yamllint deploy/"; }
[ -z "$out" ] || { echo "$out" >&2; fail "yamllint deploy/ printed warnings"; }
ok "deploy/**/*.y*ml: yamllint"
say "PASS"
