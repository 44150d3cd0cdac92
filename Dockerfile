# Container image of wechat-mp-exporter: a multi-stage build, a non-root runtime.
#
#   docker build -t wechat-mp-exporter .
#   podman build -t wechat-mp-exporter .
#
# The base images are build arguments, so a site without Docker Hub or gcr.io (or CI, see
# scripts/container-test.sh) can pass its own. The build stage needs cargo/rustc >= 1.88 (the
# crate's rust-version), a C compiler and libc headers (aws-lc-sys), and CA certificates; the
# runtime stage needs only glibc and libgcc_s (the distroless "cc" image, or any Debian 12).
# RUN --mount=type=cache needs BuildKit (docker's default builder) or podman/buildah.
ARG BUILD_IMAGE=docker.io/library/rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused as long as Cargo.toml and Cargo.lock do not change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && cargo fetch --locked \
 && rm -rf src
COPY build.rs ./
COPY src ./src
COPY examples ./examples
# REVISION is compiled in (build.rs: --version, wechat_mp_exporter_build_info{revision}; the
# context has no .git) and also labels the image.
ARG REVISION=unknown
# The cache mount keeps compiled dependencies between builds; it is not part of any layer, so the
# binary is copied out in the same step. The runtime tree is staged under /out: the binary, an
# empty config directory, the state directory (chowned to the runtime uid when copied below), and
# the CA bundle for HTTPS to WeChat.
RUN --mount=type=cache,target=/src/target,id=wechat-mp-exporter-target \
    WECHAT_MP_EXPORTER_REVISION="${REVISION}" cargo build --release --locked --bin wechat-mp-exporter \
 && mkdir -p /out/usr/local/bin /out/etc/wechat-mp-exporter /out/var/lib/wechat-mp-exporter /out/etc/ssl/certs \
 && cp target/release/wechat-mp-exporter /out/usr/local/bin/ \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && chmod 0750 /out/var/lib/wechat-mp-exporter

FROM ${RUNTIME_IMAGE}
ARG VERSION=1.0.0
ARG REVISION=unknown
ARG CREATED=
ARG SOURCE=https://github.com/wechat-mp-exporter/wechat-mp-exporter
LABEL org.opencontainers.image.title="wechat-mp-exporter" \
      org.opencontainers.image.description="Prometheus exporter for WeChat Official Account datacube analytics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/usr/local/bin/wechat-mp-exporter /usr/local/bin/wechat-mp-exporter
COPY --from=build /out/etc/wechat-mp-exporter/ /etc/wechat-mp-exporter/
COPY --from=build --chown=65532:65532 /out/var/lib/wechat-mp-exporter/ /var/lib/wechat-mp-exporter/
# The config is mounted at /etc/wechat-mp-exporter/config.toml (read-only); secrets come from the
# environment (${VAR} in the config) or from mounted files (app_secret_file), never from the image.
# /var/lib/wechat-mp-exporter is the state volume; mount a volume on it. --storage.path is set to
# its data/ explicitly (the same place the relative default reaches through WORKDIR), so a changed
# working directory (Kubernetes workingDir, docker run -w) cannot move the state off the volume.
USER 65532:65532
WORKDIR /var/lib/wechat-mp-exporter
ENV WECHAT_MP_EXPORTER_STORAGE_PATH=/var/lib/wechat-mp-exporter/data
VOLUME ["/var/lib/wechat-mp-exporter"]
EXPOSE 9864
ENTRYPOINT ["/usr/local/bin/wechat-mp-exporter"]
CMD ["--config.file=/etc/wechat-mp-exporter/config.toml"]
