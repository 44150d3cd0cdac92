#!/usr/bin/env bash
# Load test of /metrics with TLS and basic auth on: 200 concurrent scrapers for 60 s, at 1 and 100
# accounts, with Debian's hey (apt-get install -y hey). Prints a markdown table (req/s, p50, p99,
# errors) for docs/reliability.md's "Load" section; exits 1 if any request failed.
#
#   bash scripts/load.sh
#   ACCOUNTS="1 100" CONCURRENCY=200 DURATION=60s bash scripts/load.sh
#
# For each N: the bench simulator (examples/bench_metrics.rs `sim N`) serves N accounts, the real
# exporter binary polls them once and serves /metrics over TLS (a self-signed certificate made
# here with openssl) behind basic auth; hey then scrapes it. Release build: debug numbers say nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
ACCOUNTS=${ACCOUNTS:-"1 100"}
CONCURRENCY=${CONCURRENCY:-200}
DURATION=${DURATION:-60s}
# 443: hey 0.1.4 sends "host:port" as the TLS server name (SNI), which rustls rightly refuses;
# on the default port it sends the bare host. Binding 443 needs root or CAP_NET_BIND_SERVICE.
PORT=${PORT:-443}
OUT=${OUT:-target/load}
mkdir -p "$OUT"
command -v hey >/dev/null || { echo "hey not found: apt-get install -y hey" >&2; exit 1; }
cargo build --release --bin wechat-mp-exporter --example bench_metrics >&2
TARGET=${CARGO_TARGET_DIR:-target}
EXPORTER=$(realpath "$TARGET/release/wechat-mp-exporter")
BENCH=$TARGET/release/examples/bench_metrics

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# TLS and basic auth: user prometheus, password change-me (the hash of docs/web-config.md).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$OUT/server.key" -out "$OUT/server.crt" 2>/dev/null
cat >"$OUT/web.yml" <<'YML'
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: "$2b$10$TzJU9Tufh.ddenBpTysNl.zZ9xcU8wSY8/z8URmtre0jP45iP4dly"
YML

echo "| accounts | scrapers | duration | requests | errors | req/s | p50 ms | p99 ms | body bytes |"
echo "|---|---|---|---|---|---|---|---|---|"
failed=0
for n in $ACCOUNTS; do
    "$BENCH" sim "$n" >"$OUT/sim-$n.out" 2>"$OUT/sim-$n.err" &
    sim_pid=$!
    PIDS+=("$sim_pid")
    until grep -q '^sim=' "$OUT/sim-$n.out"; do sleep 0.2; done
    sim_url=$(sed -n 's/^sim=//p' "$OUT/sim-$n.out")
    # The bench accounts' ids and secrets, derived from the index as examples/bench_metrics.rs does.
    python3 - "$n" "$sim_url" >"$OUT/exporter-$n.toml" <<'PY'
import sys
n, url = int(sys.argv[1]), sys.argv[2]
print(f'[wechat]\napi_base_url = "{url}"\nconcurrency = 16\n[schedule]\npublish_after = "00:00"\nempty_is_zero_after = "00:00"')
for i in range(n):
    secret = format(((i + 1) * 0x9E3779B97F4A7C15) % (1 << 128), "032x")
    print(f'[[account]]\nname = "bench{i}"\napp_id = "wxbench{i:011d}"\napp_secret = "{secret}"')
PY
    (cd "$OUT" && exec "$EXPORTER" --config.file="exporter-$n.toml" --web.config.file=web.yml \
        --web.listen-address="127.0.0.1:$PORT" --storage.path= --log.level=warn) 2>"$OUT/exporter-$n.err" &
    exp_pid=$!
    PIDS+=("$exp_pid")
    host=localhost
    [ "$PORT" = 443 ] || host="localhost:$PORT"
    url="https://$host/metrics"
    until curl -skf -u prometheus:change-me "https://127.0.0.1:$PORT/-/ready" >/dev/null; do
        kill -0 "$exp_pid" 2>/dev/null || { cat "$OUT/exporter-$n.err" >&2; exit 1; }
        sleep 0.5
    done
    # Every account's first round is in: wechat_mp_up 1 for all.
    until [ "$(curl -sk -u prometheus:change-me "$url" | grep -c '^wechat_mp_up{.*} 1$')" -ge "$n" ]; do sleep 0.5; done
    kill "$sim_pid"
    bytes=$(curl -sk -u prometheus:change-me "$url" | wc -c)
    # hey 0.1.4 drops -a on its requests: send the header itself.
    hey -z "$DURATION" -c "$CONCURRENCY" -H "Authorization: Basic $(printf prometheus:change-me | base64)" "$url" >"$OUT/hey-$n.txt"
    kill "$exp_pid"
    f="$OUT/hey-$n.txt"
    status() { awk '/^Status code distribution:/ {on=1; next} /^Error distribution:/ {on=0} on && /\[[0-9]+\]/ {print}' "$f"; }
    ok=$(status | awk '$1 == "[200]" {s += $2} END {print s + 0}')
    total=$(status | awk '{s += $2} END {print s + 0}')
    errs=$(awk '/^Error distribution:/ {on=1; next} on && /\[[0-9]+\]/ {gsub(/[][]/, "", $1); s += $1} END {print s + 0}' "$f")
    errors=$(( total - ${ok:-0} + errs ))
    [ "$errors" -eq 0 ] || failed=1
    rps=$(awk '/Requests\/sec:/ {printf "%.0f", $2}' "$f")
    p50=$(awk '/ 50% in / {printf "%.1f", $3 * 1000}' "$f")
    p99=$(awk '/ 99% in / {printf "%.1f", $3 * 1000}' "$f")
    echo "| $n | $CONCURRENCY | $DURATION | $((total + errs)) | $errors | $rps | $p50 | $p99 | $bytes |"
done
exit "$failed"
