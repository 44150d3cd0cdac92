#!/usr/bin/env bash
# Benchmarks of the performance targets (results: docs/benchmarks.md). Needs wrk (apt-get install -y wrk).
#
#   bash scripts/bench.sh                 # N = 1 100 1000 accounts, plus the upstream-call count
#   ACCOUNTS="1 100" bash scripts/bench.sh
#   DURATION=10s ROUNDS=3 CONNECTIONS=4 bash scripts/bench.sh
#   OTLP_ROUNDS=5                         # pushes per protocol in the OTLP section (examples/bench_otlp.rs)
#   OTLP_ONLY=1 bash scripts/bench.sh     # only the OTLP section (no wrk needed)
#   SCRAPE_ONLY=1 bash scripts/bench.sh   # only the /metrics section (plain and gzip), no calls/OTLP
#   BENCH_GZIP_LEVELS="1 6 9"             # also time each gzip level on the text body
#   PROBE_ONLY=1 bash scripts/bench.sh    # only the probe section: PROBE_ACCOUNTS (1000) accounts,
#                                         # with and without callback probes side by side, a gzip
#                                         # OpenMetrics scrape every SCRAPE_EVERY (15) s for
#                                         # PROBE_SECONDS (180) s
#   STATE_ONLY=1 bash scripts/bench.sh    # only the state section (no wrk needed): at each of
#                                         # STATE_ACCOUNTS ("2 100 1000") accounts, one poll round
#                                         # over a state directory, its bytes per account against
#                                         # the account's share of the gzip OpenMetrics body, and a
#                                         # restart on it (BENCH_EXCLUDE, BENCH_MAX_ARTICLES apply)
#   YEAR_ONLY=1 bash scripts/bench.sh     # only the simulated year (tests/year.rs, release build):
#                                         # YEAR_ACCOUNTS (40) accounts for YEAR_DAYS (365) days,
#                                         # a restart every 30 days; prints series, state bytes
#                                         # and RSS every 30 days
#
# For each N: the simulator with N accounts runs in one process, the exporter (one poll round, then
# serving) in another; wrk then loads the real /metrics, the bare hyper baseline (same body size)
# and two diagnostic variants (see examples/bench_metrics.rs) in turn, ROUNDS times each, and the
# medians are compared. RSS per series is (RSS after the poll round - RSS with the exporter built
# but empty) / series lines; "trimmed" is the same after malloc_trim (freed heap glibc kept). Raw
# wrk output goes to $OUT (default target/bench). Built with the release profile: debug numbers say nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
ACCOUNTS=${ACCOUNTS:-"1 100 1000"}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-4}
CALL_ACCOUNTS=${CALL_ACCOUNTS:-10}
CALL_DAYS=${CALL_DAYS:-14}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"

OTLP_ONLY=${OTLP_ONLY:-}
PROBE_ONLY=${PROBE_ONLY:-}
STATE_ONLY=${STATE_ONLY:-}
if [ -n "${YEAR_ONLY:-}" ]; then
    # The CI test itself, wider and longer: it asserts the same figures as it prints them.
    WECHAT_MP_YEAR_ACCOUNTS=${YEAR_ACCOUNTS:-40} WECHAT_MP_YEAR_DAYS=${YEAR_DAYS:-365} \
        cargo test --locked --release --test year -- --nocapture
    exit 0
fi
[ -n "$OTLP_ONLY$PROBE_ONLY$STATE_ONLY" ] || command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --example bench_metrics --example bench_otlp --example bench_state >&2
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/examples/bench_metrics
OTLP_BIN=$TARGET/release/examples/bench_otlp
STATE_BIN=$TARGET/release/examples/bench_state
OTLP_ROUNDS=${OTLP_ROUNDS:-5}

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Waits until FILE has a line matching PATTERN (or the process PID died).
wait_for() {
    local file=$1 pattern=$2 pid=$3
    until grep -q "$pattern" "$file"; do
        kill -0 "$pid" 2>/dev/null || { echo "process $pid died:" >&2; cat "$file" "$file.err" >&2; exit 1; }
        sleep 1
    done
}

field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1"; }

# Requests/s of one wrk run against URL (asking for gzip when GZIP is set).
rps() {
    local url=$1 log=$2
    local header=()
    [ -z "${GZIP:-}" ] || header=(-H "Accept-Encoding: gzip")
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --timeout 60s "${header[@]}" "$url" >"$log"
    awk '/^Requests\/sec:/ {print $2}' "$log"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

kib_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# Callback probes against the business block: one exporter with a probe per account (60 s, the
# default), one without, polled from the same simulator and scraped alike (gzip OpenMetrics every
# SCRAPE_EVERY s). After a warm-up scrape (the first encoding) and one probe interval (every account
# probed), the window starts: CPU and the business-encode counter are read at both ends, peak RSS
# (VmHWM) at the end. The probes run for the whole comparison, so their own HTTP work is in "on".
OM_ACCEPT="Accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
# gzip -d reads every member (curl --compressed stops after the first).
scrape() { curl -s -H "$OM_ACCEPT" -H "Accept-Encoding: gzip" "$1" | gzip -dc; }
encodes() { scrape "$1" | awk '/^wechat_mp_exporter_business_encodes_total/ {s += $2} END {print s + 0}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
probe_section() {
    local n=${PROBE_ACCOUNTS:-1000} seconds=${PROBE_SECONDS:-180} every=${SCRAPE_EVERY:-15}
    "$BIN" sim "$n" >"$OUT/probe-sim.out" 2>"$OUT/probe-sim.out.err" &
    local sim_pid=$!
    PIDS+=("$sim_pid")
    wait_for "$OUT/probe-sim.out" '^sim=' "$sim_pid"
    local sim_url
    sim_url=$(field "$OUT/probe-sim.out" sim)
    declare -A pid=() url=() cpu0=() enc0=()
    for mode in off on; do
        "$BIN" probes "$n" "$sim_url" "$mode" >"$OUT/probe-$mode.out" 2>"$OUT/probe-$mode.out.err" &
        pid[$mode]=$!
        PIDS+=("${pid[$mode]}")
    done
    for mode in off on; do
        wait_for "$OUT/probe-$mode.out" 'real=' "${pid[$mode]}"
        url[$mode]=$(field "$OUT/probe-$mode.out" real)
        scrape "${url[$mode]}" >/dev/null
    done
    sleep 65
    for mode in off on; do
        cpu0[$mode]=$(cpu_ticks "${pid[$mode]}")
        enc0[$mode]=$(encodes "${url[$mode]}")
    done
    local bytes=0
    for _ in $(seq 1 $((seconds / every))); do
        for mode in off on; do
            bytes=$(curl -s -H "$OM_ACCEPT" -H "Accept-Encoding: gzip" -o /dev/null -w '%{size_download}' "${url[$mode]}")
        done
        sleep "$every"
    done
    echo
    echo "Callback probes ($n accounts, probe interval 60 s, gzip OpenMetrics scrape every ${every} s for ${seconds} s; gzip body $bytes bytes):"
    echo "| probes | business encodes in the window | CPU s in the window | CPU s whole run | peak RSS KiB |"
    echo "|---|---|---|---|---|"
    declare -A win=() total=() hwm=()
    for mode in off on; do
        local cpu1 enc1
        cpu1=$(cpu_ticks "${pid[$mode]}")
        enc1=$(encodes "${url[$mode]}")
        win[$mode]=$(awk -v a="${cpu0[$mode]}" -v b="$cpu1" 'BEGIN {printf "%.2f", (b - a) / 100}')
        total[$mode]=$(awk -v b="$cpu1" 'BEGIN {printf "%.2f", b / 100}')
        hwm[$mode]=$(kib_of "${pid[$mode]}" VmHWM)
        echo "| $mode | $((enc1 - enc0[$mode])) | ${win[$mode]} | ${total[$mode]} | ${hwm[$mode]} |"
    done
    awk -v wo="${win[off]}" -v wn="${win[on]}" -v to="${total[off]}" -v tn="${total[on]}" \
        -v ho="${hwm[off]}" -v hn="${hwm[on]}" 'BEGIN {
        printf "on / off: CPU whole run %.2fx, CPU in the window %.2fx, peak RSS %.2fx\n", tn / to, wn / wo, hn / ho
    }'
    for mode in off on; do kill "${pid[$mode]}"; done
    kill "$sim_pid"
}
if [ -n "$PROBE_ONLY" ]; then
    probe_section
    exit 0
fi

# The state directory (docs/benchmarks.md, "State directory"): `bench_state run N` runs the
# simulator and the exporter in one process, so it needs no port juggling; its peak RSS is both.
state_section() {
    echo
    echo "State directory (one poll round, then a restart on it; gzip share = gzip OpenMetrics body / accounts):"
    echo "| accounts | upstream requests | state bytes | **state bytes / account** | gzip body bytes | gzip share / account | **state / gzip share** | business series | quota series | load s | restart to /metrics s | series missing after restart | upstream calls during restart |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for n in ${STATE_ACCOUNTS:-2 100 1000}; do
        "$STATE_BIN" run "$n" >"$OUT/state-$n.out" 2>"$OUT/state-$n.out.err"
        f="$OUT/state-$n.out"
        echo "| $n | $(field "$f" upstream_requests) | $(field "$f" state_bytes) | $(field "$f" state_bytes_per_account) | $(field "$f" gzip_openmetrics_bytes) | $(field "$f" gzip_bytes_per_account) | $(field "$f" state_over_gzip_share) | $(field "$f" business_series) | $(field "$f" quota_series) | $(field "$f" load_seconds) | $(field "$f" restart_seconds) | $(field "$f" series_missing_after_restart) | $(field "$f" upstream_calls_during_restart) |"
    done
}
if [ -n "$STATE_ONLY" ]; then
    state_section
    exit 0
fi

VARIANTS="real bare real_gzip bare_gzip preencoded chained"
SCRAPE_ONLY=${SCRAPE_ONLY:-}
COMPRESSED="$OUT/compressed.md"
echo "| accounts | series | plain bytes | gzip bytes | plain / gzip | first gzip s (OpenMetrics) | plain encode s | gzip levels (level:bytes:s) | real gzip req/s | bare gzip req/s | **real / bare (gzip)** | RSS gzip only KiB | **bytes/series** | trimmed | RSS all bodies KiB | bytes/series |" >"$COMPRESSED"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" >>"$COMPRESSED"
if [ -z "$OTLP_ONLY" ]; then
echo "| accounts | series | body bytes | real req/s | bare req/s | real MB/s | bare MB/s | real/bare | preencoded/bare | chained/bare | fill s | RSS filled KiB | bytes/series | RSS trimmed KiB | bytes/series trimmed | RSS after load KiB | peak KiB | /proc block us |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $ACCOUNTS; do
    "$BIN" sim "$n" >"$OUT/sim-$n.out" 2>"$OUT/sim-$n.out.err" &
    sim_pid=$!
    PIDS+=("$sim_pid")
    wait_for "$OUT/sim-$n.out" '^sim=' "$sim_pid"
    sim_url=$(field "$OUT/sim-$n.out" sim)

    "$BIN" exporter "$n" "$sim_url" >"$OUT/exporter-$n.out" 2>"$OUT/exporter-$n.out.err" &
    exp_pid=$!
    PIDS+=("$exp_pid")
    wait_for "$OUT/exporter-$n.out" 'real=' "$exp_pid"
    # The simulator is only needed for the poll round: stop it so it does not compete for CPU.
    kill "$sim_pid"

    f="$OUT/exporter-$n.out"
    bytes=$(field "$f" response_bytes)
    series=$(field "$f" series)
    declare -A runs=()
    # Interleaved rounds, so a burst of load from other processes hits every variant alike.
    for r in $(seq 1 "$ROUNDS"); do
        for v in $VARIANTS; do
            gz=""
            case $v in *_gzip) gz=1 ;; esac
            runs[$v]+="$(GZIP=$gz rps "$(field "$f" "$v")" "$OUT/wrk-$n-$v-$r.txt") "
        done
    done
    declare -A med=()
    : >"$OUT/runs-$n.txt"
    for v in $VARIANTS; do
        med[$v]=$(printf '%s\n' ${runs[$v]} | median)
        echo "$v req/s: ${runs[$v]}(median ${med[$v]})" >>"$OUT/runs-$n.txt"
    done
    rss_load=$(kib_of "$exp_pid" VmRSS)
    hwm=$(kib_of "$exp_pid" VmHWM)
    kill "$exp_pid"
    awk -v n="$n" -v s="$series" -v b="$bytes" -v rr="${med[real]}" -v br="${med[bare]}" \
        -v pr="${med[preencoded]}" -v cr="${med[chained]}" \
        -v fill="$(field "$f" fill_seconds)" -v start="$(field "$f" rss_built_kib)" \
        -v filled="$(field "$f" rss_filled_kib)" -v trimmed="$(field "$f" rss_trimmed_kib)" \
        -v load="$rss_load" -v hwm="$hwm" \
        -v proc="$(field "$f" proc_read_us)" 'BEGIN {
        printf "| %d | %d | %d | %.1f | %.1f | %.0f | %.0f | %.0f%% | %.0f%% | %.0f%% | %s | %d | %.0f | %d | %.0f | %d | %d | %s |\n",
            n, s, b, rr, br, rr * b / 1e6, br * b / 1e6, 100 * rr / br, 100 * pr / br, 100 * cr / br,
            fill, filled, (filled - start) * 1024 / s, trimmed, (trimmed - start) * 1024 / s,
            load, hwm, proc
    }'
    awk -v n="$n" -v s="$series" -v b="$bytes" -v gb="$(field "$f" gzip_bytes)" \
        -v gs="$(field "$f" gzip_seconds)" -v ps="$(field "$f" plain_seconds)" -v lv="$(field "$f" gzip_levels)" \
        -v rr="${med[real_gzip]}" -v br="${med[bare_gzip]}" -v start="$(field "$f" rss_built_kib)" \
        -v gz="$(field "$f" rss_gzip_kib)" -v gzt="$(field "$f" rss_gzip_trimmed_kib)" \
        -v served="$(field "$f" rss_served_kib)" 'BEGIN {
        printf "| %d | %d | %d | %d | %.1fx | %s | %s | %s | %.1f | %.1f | %.0f%% | %d | %.0f | %.0f | %d | %.0f |\n",
            n, s, b, gb, b / gb, gs, ps, lv, rr, br, 100 * rr / br, gz,
            (gz - start) * 1024 / s, (gzt - start) * 1024 / s, served, (served - start) * 1024 / s
    }' >>"$COMPRESSED"
    unset runs med
done

echo
echo "Compressed scrapes (Accept-Encoding: gzip; bytes/series = (RSS - RSS built) / series; gzip only = after the first OpenMetrics gzip scrape, no plain body made):"
cat "$COMPRESSED"
[ -z "$SCRAPE_ONLY" ] || exit 0

echo
echo "Upstream calls ($CALL_ACCOUNTS accounts, $CALL_DAYS simulated days, simulator publishing at 09:00 UTC+8):"
"$BIN" calls "$CALL_ACCOUNTS" "$CALL_DAYS"
fi

echo
echo "OTLP push vs scrape encode (median of $OTLP_ROUNDS, ms; peak RSS above the phase start, KiB):"
echo "| accounts | series | encode ms | encode peak KiB | gRPC push ms | gRPC peak KiB | HTTP push ms | of which collect ms | HTTP peak KiB | gRPC/encode | HTTP/encode | protobuf bytes/push |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $ACCOUNTS; do
    "$OTLP_BIN" "$n" "$OTLP_ROUNDS" 2>"$OUT/otlp-$n.err"
done
[ -n "$OTLP_ONLY" ] || state_section
