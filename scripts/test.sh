#!/usr/bin/env bash
# The one test command (CI's .ci/run calls it). On a fresh Debian machine it installs what the tests
# need, then runs, in order:
#
#   fmt        cargo fmt --check
#   clippy     cargo clippy --locked --all-targets -- -D warnings
#   test       cargo test --locked           (needs promtool and prometheus: Debian's prometheus;
#                                             prometheus-alertmanager; chromium for the browser test,
#                                             whose screenshots land in target/tmp/screenshots/)
#   midnight   the e2e suite under libfaketime (Debian's faketime) from 23:59:50 UTC+8 (15:59:50 UTC): it
#              crosses midnight UTC+8, when "yesterday" moves, so no test may hang on the hour CI
#              runs at (the browser test is left out: Chromium does not start under the preload,
#              and that test runs on a fixed clock anyway)
#   year       cargo test --locked --release --test year
#                                            (the simulated year: 20 accounts, 365 days; about 100 s
#                                             in release, five times that in debug, where the test
#                                             stage reports it as ignored)
#   deploy     scripts/validate-deploy.sh    (systemd-analyze, docker-compose, kubernetes-validate, ...)
#   container  scripts/container-test.sh     (podman build of the Dockerfile, run against the simulator)
#
#   bash scripts/test.sh                  # everything, as CI
#   bash scripts/test.sh --quick          # fmt, clippy, test only (no midnight, year, deploy, container)
#   bash scripts/test.sh --skip container # leave out stages by name (repeatable, or comma-separated)
#   bash scripts/test.sh --only deploy    # run only the named stages
#   TEST_SKIP=container bash scripts/test.sh   # the same through the environment (TEST_ONLY too)
#   NO_INSTALL=1 bash scripts/test.sh     # never apt-get/pip/npm install; fail if a tool is missing
#
# Prints one line per stage with its time, and a summary; exits non-zero if any stage failed (the
# stages after a failed one still run, so one run shows every problem).
set -uo pipefail
cd "$(dirname "$0")/.."

STAGES=(fmt clippy test midnight year deploy container)
skip=",${TEST_SKIP:-},"
only=",${TEST_ONLY:-},"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) skip="$skip,midnight,year,deploy,container," ;;
    --skip) skip="$skip,$2,"; shift ;;
    --skip=*) skip="$skip,${1#--skip=}," ;;
    --only) only="$only,$2,"; shift ;;
    --only=*) only="$only,${1#--only=}," ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
wanted() { # STAGE
  if [ -n "${only//,/}" ]; then [[ "$only" == *",$1,"* ]] || return 1; fi
  [[ "$skip" != *",$1,"* ]]
}
for s in ${skip//,/ } ${only//,/ }; do
  [[ " ${STAGES[*]} " == *" $s "* ]] || { echo "test.sh: unknown stage $s (stages: ${STAGES[*]})" >&2; exit 2; }
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
log() { printf '==> %s\n' "$*"; }

# --- what the stages need -----------------------------------------------------------------------
export PATH=$PATH:/usr/sbin:/sbin
apt_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || apt_pkgs+=("$2"); }
if wanted test || wanted midnight; then
  need promtool prometheus; need prometheus prometheus; need prometheus-alertmanager prometheus-alertmanager
fi
if wanted test; then need chromium chromium; fi
if wanted midnight; then need faketime faketime; fi
if wanted deploy; then
  need systemd-analyze systemd; need docker-compose docker-compose; need promtool prometheus
  need amtool prometheus-alertmanager
  need node nodejs; need npm npm
fi
if wanted container; then
  need podman podman; need runc runc; need debootstrap debootstrap; need curl curl
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  mapfile -t apt_pkgs < <(printf '%s\n' "${apt_pkgs[@]}" | sort -u)
  if [ -n "${NO_INSTALL:-}" ]; then
    echo "test.sh: missing ${apt_pkgs[*]} (NO_INSTALL is set)" >&2; exit 1
  fi
  log "installing ${apt_pkgs[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # No recommends: prometheus would bring node_exporter and a running service.
  as_root apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null || exit 1
fi
# scripts/validate-deploy.sh installs its Python (pip) and npm validators itself.
if wanted fmt || wanted clippy; then rustup component add rustfmt clippy >/dev/null 2>&1 || true; fi
cargo --version
if wanted test; then promtool --version 2>&1 | head -1; fi

# --- stages -------------------------------------------------------------------------------------
results=()
failed=0
T_ALL=$(date +%s)
run_stage() { # NAME COMMAND...
  local name=$1; shift
  if ! wanted "$name"; then results+=("$(printf '%-10s skipped' "$name")"); return; fi
  log "$name: $*"
  local t0=$(date +%s) rc=0
  "$@" || rc=$?
  local dt=$(( $(date +%s) - t0 ))
  if [ "$rc" -eq 0 ]; then
    results+=("$(printf '%-10s ok      %4ss' "$name" "$dt")")
    log "$name: ok (${dt}s)"
  else
    results+=("$(printf '%-10s FAILED  %4ss  (exit %s)' "$name" "$dt" "$rc")")
    log "$name: FAILED (exit $rc, ${dt}s)"
    failed=1
  fi
}
run_stage fmt cargo fmt --check
run_stage clippy cargo clippy --locked --all-targets -- -D warnings
TEST_LOG=$(mktemp /tmp/cargo-test.XXXXXX)
trap 'rm -f "$TEST_LOG"' EXIT
cargo_test() { cargo test --locked 2>&1 | tee "$TEST_LOG"; }   # pipefail: cargo's exit status
run_stage test cargo_test
midnight() {
  local start bin
  start="$(date -u +%F) 15:59:50"
  # tokio times with the monotonic clock; only the wall clock (the date) is moved.
  local at_midnight=(env TZ=UTC faketime -m --exclude-monotonic "$start")
  # The preload must reach the binary: a clock that did not move would pass without testing anything.
  [ "$("${at_midnight[@]}" date -u +%H:%M)" = 15:59 ] || { echo "midnight: faketime did not set the clock" >&2; return 1; }
  bin=$(cargo test --locked --no-run --test e2e --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
  [ -x "$bin" ] || { echo "midnight: no e2e test binary" >&2; return 1; }
  echo "midnight: $bin from $start UTC"
  # A hang fails the stage rather than stalling CI.
  timeout 900 "${at_midnight[@]}" "$bin" --skip browser::
}
run_stage midnight midnight
# Its own line in the summary: the release build it needs is most of the stage's time.
year() { cargo test --locked --release --test year -- --nocapture 2>&1 | tee -a "$TEST_LOG"; }
run_stage year year
# The deploy checks reuse the debug binary cargo test built (when it did) for check-config.
bin=${CARGO_TARGET_DIR:-target}/debug/wechat-mp-exporter
if wanted test && [ -x "$bin" ]; then export WECHAT_MP_EXPORTER=$bin; fi
run_stage deploy bash scripts/validate-deploy.sh
run_stage container bash scripts/container-test.sh

echo
echo "stage      result   time"
printf '%s\n' "${results[@]}"
echo "total $(( $(date +%s) - T_ALL ))s"
# cargo test's counts over all its test binaries (its own last line is the doc-tests' alone).
if [ -s "$TEST_LOG" ]; then
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
       END { if (p + f + s > 0) printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$TEST_LOG"
fi
exit "$failed"
