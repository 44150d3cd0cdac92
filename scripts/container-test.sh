#!/usr/bin/env bash
# Builds the Dockerfile with podman and runs the image for real (CI runs this through scripts/test.sh).
#
#   bash scripts/container-test.sh
#   CONTAINER_TEST_CACHE=/some/dir bash scripts/container-test.sh   # where the base root filesystems are kept
#   REMOVE_IMAGE=1 bash scripts/container-test.sh                   # remove localhost/wechat-mp-exporter:test after
#
# No image registry is needed: the base images are made here with debootstrap (Debian bookworm,
# minbase) and `podman import`, and passed to the Dockerfile as BUILD_IMAGE and RUNTIME_IMAGE. The
# build image gets gcc and libc headers from Debian and this machine's Rust toolchain (rustc and cargo
# of the active toolchain). `cargo build` inside the build reaches crates.io through --network host.
# Cold (no cache) this costs a debootstrap and a release build; warm, seconds.
#
# Then, all on 127.0.0.1 with host networking:
#   1. the image's `simulate` serves the simulated WeChat API;
#   2. the image's default command serves the exporter, with a config mounted read-only and the app
#      secret passed only at run time (-e) and expanded from ${VAR} in the config;
#   3. /metrics from the container must hold real business values (wechat_mp_followers > 0,
#      wechat_mp_up 1) and the process must run as a non-root uid;
#   4. `podman history --no-trunc`, `podman image inspect` and the saved image must hold neither the
#      secret nor anything that looks like one.
# Exits non-zero with a message on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'container-test: %s\n' "$*" >&2; }
fail() { printf 'container-test: FAIL: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
T0=$(date +%s)
step() { say "[$(($(date +%s) - T0))s] $*"; }

# --- tools --------------------------------------------------------------------------------------
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH=$PATH:/usr/sbin:/sbin
command -v rustc >/dev/null && command -v cargo >/dev/null || fail "rustc and cargo are needed for the build image"

# crun (podman's default) fails on hybrid cgroups here, and podman's default RLIMIT_NOFILE cannot be
# set in these machines' containers: use runc, cgroupfs, and no default ulimits.
WORK=$(mktemp -d /tmp/container-test.XXXXXX)
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []
EOF
export CONTAINERS_CONF=$WORK/containers.conf
P=(podman --runtime=runc --cgroup-manager=cgroupfs)

CACHE=${CONTAINER_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wechat-mp-exporter/container-test}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=localhost/wechat-mp-exporter:test
SIM=wmpe-sim-$$
EXP=wmpe-exp-$$
cleanup() {
  "${P[@]}" rm -f -v -t 2 "$SIM" "$EXP" >/dev/null 2>&1 || true   # -v: and their anonymous volumes
  [ -z "${REMOVE_IMAGE:-}" ] || "${P[@]}" rmi -f "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- base images --------------------------------------------------------------------------------
# One debootstrap root filesystem (bookworm, minbase) is made once and kept as a tarball in $CACHE;
# the images made from it are kept in podman's storage. Rerunning reuses both.
RUNTIME_BASE=localhost/wechat-mp-exporter-ci/runtime:bookworm
if ! "${P[@]}" image exists "$RUNTIME_BASE"; then
  tar=$CACHE/bookworm-minbase.tar
  if [ ! -s "$tar" ]; then
    mkdir -p "$CACHE"
    dir=$CACHE/bookworm-minbase.rootfs
    as_root rm -rf "$dir"
    step "debootstrap --variant=minbase bookworm (once; cached in $CACHE)"
    as_root debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    as_root chroot "$dir" apt-get clean
    as_root rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/log/*.log
    as_root tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    as_root rm -rf "$dir"
  fi
  step "podman import $RUNTIME_BASE"
  "${P[@]}" import -q "$tar" "$RUNTIME_BASE" >/dev/null
fi

# The build image: the same Debian with gcc, libc headers and CA certificates from Debian, the
# active Rust toolchain at /usr/local/rust (its bin/ and lib/; rustc finds its sysroot from its own
# path), and this machine's CA bundle, so that cargo trusts what this machine trusts (e.g. a
# TLS-intercepting proxy's CA from /usr/local/share/ca-certificates). Tagged by the toolchain
# version and the bundle's hash, so a new toolchain or CA makes a new image.
SYSROOT=$(rustc --print sysroot)
HOST_CA=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -s "$HOST_CA" ] || fail "no CA bundle at $HOST_CA (set HOST_CA_BUNDLE)"
RUST_TAG=$(rustc --version | awk '{print $2}')-bookworm-$(sha256sum "$HOST_CA" | cut -c1-8)
BUILD_BASE=localhost/wechat-mp-exporter-ci/rust:$RUST_TAG
if ! "${P[@]}" image exists "$BUILD_BASE"; then
  step "podman build $BUILD_BASE (gcc, libc6-dev from Debian; toolchain $SYSROOT)"
  ctx=$WORK/build-base
  mkdir -p "$ctx/rust"
  cp -al "$SYSROOT/bin" "$SYSROOT/lib" "$ctx/rust/" 2>/dev/null || cp -a "$SYSROOT/bin" "$SYSROOT/lib" "$ctx/rust/"
  cp "$HOST_CA" "$ctx/ca-certificates.crt"
  cat >"$ctx/Containerfile" <<'EOF'
ARG BASE
FROM ${BASE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates gcc libc6-dev >/dev/null \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY rust/ /usr/local/rust/
ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HOME=/usr/local/cargo
RUN rustc --version && cargo --version && cc --version | head -1
EOF
  "${P[@]}" build -q --network host --build-arg BASE="$RUNTIME_BASE" -t "$BUILD_BASE" "$ctx" >"$WORK/build-base.log" 2>&1 ||
    { tail -30 "$WORK/build-base.log" >&2; fail "building $BUILD_BASE failed"; }
  rm -rf "$ctx"
fi

# --- the image ----------------------------------------------------------------------------------
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
step "podman build $IMAGE (version $VERSION, revision $REVISION)"
# The image is kept (its layers make the next run fast); the one it replaces is removed below.
old_id=$("${P[@]}" image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
"${P[@]}" build --network host \
  --build-arg BUILD_IMAGE="$BUILD_BASE" \
  --build-arg RUNTIME_IMAGE="$RUNTIME_BASE" \
  --build-arg VERSION="$VERSION" \
  --build-arg REVISION="$REVISION" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; fail "podman build failed"; }
new_id=$("${P[@]}" image inspect -f '{{.Id}}' "$IMAGE")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then "${P[@]}" rmi "$old_id" >/dev/null 2>&1 || true; fi
"${P[@]}" image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "container-test: image size %.1f MB\n", $1/1e6}' >&2

# --- run it against the simulator ---------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIM_PORT=$(free_port)
EXP_PORT=$(free_port)
step "simulator on 127.0.0.1:$SIM_PORT, exporter on 127.0.0.1:$EXP_PORT (host network)"
"${P[@]}" run -d --name "$SIM" --network host "$IMAGE" \
  simulate --listen "127.0.0.1:$SIM_PORT" --publish-at 00:00 >/dev/null

# The simulator prints its accounts' app_id and app_secret.
creds=""
for _ in $(seq 1 100); do
  creds=$("${P[@]}" logs "$SIM" 2>/dev/null | awk '$1 == "app_id" && $3 == "app_secret" {print $2, $4; exit}' || true)
  [ -n "$creds" ] && break
  sleep 0.1
done
[ -n "$creds" ] || { "${P[@]}" logs "$SIM" >&2 || true; fail "the simulator did not start"; }
read -r APP_ID APP_SECRET <<<"$creds"

mkdir -p "$WORK/etc"
cat >"$WORK/etc/config.toml" <<EOF
[wechat]
api_base_url = "http://127.0.0.1:$SIM_PORT"
timeout = "5s"

[schedule]
publish_after = "00:00"
empty_is_zero_after = "00:00"

[[account]]
name = "brand"
app_id = "$APP_ID"
app_secret = "\${BRAND_APP_SECRET}"
EOF
chmod 0755 "$WORK" "$WORK/etc"
chmod 0644 "$WORK/etc/config.toml"
grep -qF "$APP_SECRET" "$WORK/etc/config.toml" && fail "the secret leaked into the config file"

# The image's own ENTRYPOINT and CMD (--config.file=/etc/wechat-mp-exporter/config.toml); the listen
# address through its env var, the secret only at run time, the state directory on its VOLUME.
# Hardened as in deploy/: read-only root filesystem, no capabilities, no privilege gain.
"${P[@]}" run -d --name "$EXP" --network host \
  --read-only --cap-drop=ALL --security-opt=no-new-privileges \
  -v "$WORK/etc/config.toml:/etc/wechat-mp-exporter/config.toml:ro" \
  -e WECHAT_MP_EXPORTER_WEB_LISTEN_ADDRESS="127.0.0.1:$EXP_PORT" \
  -e BRAND_APP_SECRET="$APP_SECRET" \
  "$IMAGE" >/dev/null

URL=http://127.0.0.1:$EXP_PORT
metrics=""
for _ in $(seq 1 300); do
  if [ "$("${P[@]}" inspect -f '{{.State.Running}}' "$EXP" 2>/dev/null)" != true ]; then
    "${P[@]}" logs "$EXP" >&2 || true
    fail "the exporter container exited"
  fi
  if curl -fsS -o /dev/null "$URL/-/ready" 2>/dev/null; then
    metrics=$(curl -fsS -H 'Accept: text/plain' "$URL/metrics") || true
    if grep -q '^wechat_mp_followers{account="brand"}' <<<"$metrics"; then break; fi
  fi
  sleep 0.1
done
followers=$(awk '$1 == "wechat_mp_followers{account=\"brand\"}" {print $2}' <<<"$metrics")
up=$(awk '$1 == "wechat_mp_up{account=\"brand\"}" {print $2}' <<<"$metrics")
if ! awk -v v="${followers:-0}" 'BEGIN {exit !(v + 0 > 0)}'; then
  "${P[@]}" logs "$EXP" >&2 || true
  printf '%s\n' "$metrics" | grep '^wechat_mp_' | head -20 >&2
  fail "no positive wechat_mp_followers{account=\"brand\"} on $URL/metrics (got '${followers}')"
fi
[ "$up" = 1 ] || { "${P[@]}" logs "$EXP" >&2 || true; fail "wechat_mp_up{account=\"brand\"} is '${up}', want 1"; }
grep -qF "wechat_mp_exporter_build_info{version=\"$VERSION\",revision=\"$REVISION\"} 1" <<<"$metrics" ||
  fail "/metrics has no wechat_mp_exporter_build_info{version=\"$VERSION\",revision=\"$REVISION\"} 1 ($(grep '^wechat_mp_exporter_build_info' <<<"$metrics"))"
series=$(grep -c '^wechat_mp_' <<<"$metrics" || true)
say "metrics OK: wechat_mp_followers{account=\"brand\"} $followers, wechat_mp_up 1, build_info revision $REVISION, $series wechat_mp_* series"
grep -qF "$APP_SECRET" <<<"$metrics" && fail "the app secret appears on /metrics"
curl -fsS "$URL/" | grep -qF "$APP_SECRET" && fail "the app secret appears on the landing page"

# Non-root: the uid of the container's process as the host's kernel sees it.
pid=$("${P[@]}" inspect -f '{{.State.Pid}}' "$EXP")
uid=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
[ -n "$uid" ] && [ "$uid" != 0 ] || fail "the exporter runs as uid '$uid'"
cfg_user=$("${P[@]}" image inspect -f '{{.Config.User}}' "$IMAGE")
say "process runs as uid $uid (image USER $cfg_user)"
# The state directory (the image's VOLUME, as the container sees it) belongs to that uid.
state_owner=$(stat -c '%u' "/proc/$pid/root/var/lib/wechat-mp-exporter" 2>/dev/null || echo '?')
[ "$state_owner" = "$uid" ] || fail "/var/lib/wechat-mp-exporter is owned by uid '$state_owner', not $uid"
say "state directory /var/lib/wechat-mp-exporter owned by uid $state_owner; root filesystem read-only"

# The exporter's logs must not carry the secret either.
"${P[@]}" logs "$EXP" >"$WORK/exp.log" 2>&1 || true
grep -qF "$APP_SECRET" "$WORK/exp.log" && fail "the app secret appears in the exporter's logs"

# --- no secret in the image ---------------------------------------------------------------------
"${P[@]}" history --no-trunc "$IMAGE" >"$WORK/history.txt"
"${P[@]}" image inspect "$IMAGE" >"$WORK/inspect.json"
for f in history.txt inspect.json; do
  grep -qF "$APP_SECRET" "$WORK/$f" && fail "the app secret appears in podman ${f%.*}"
  if grep -inE '(secret|password|passwd|token|api_?key)[a-z_]*[=:] *"?[A-Za-z0-9/+_-]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY|AKIA[0-9A-Z]{16}' "$WORK/$f"; then
    fail "something that looks like a secret appears in podman ${f%.*} (above)"
  fi
done
"${P[@]}" save --format docker-archive -o "$WORK/image.tar" "$IMAGE" >/dev/null 2>&1
mkdir -p "$WORK/layers" && tar -C "$WORK/layers" -xf "$WORK/image.tar"
if find "$WORK/layers" -type f -exec grep -lF "$APP_SECRET" {} + >/dev/null 2>&1; then
  fail "the app secret appears in the saved image's layers"
fi
rm -rf "$WORK/layers" "$WORK/image.tar"
say "no secret in podman history, podman image inspect or the image's layers"

"${P[@]}" inspect -f '{{index .Config.Labels "org.opencontainers.image.revision"}}' "$IMAGE" | grep -qx "$REVISION" \
  || fail "org.opencontainers.image.revision is not $REVISION"
step "PASS"
