# syntax=docker/dockerfile:1.7
# The allowly server as a container image: one static musl `allowly` binary (SQLite bundled, rustls, no OpenSSL) on
# distroless/static, run as the distroless `nonroot` user (65532). Multi-arch: the release workflow builds it with
#   docker buildx build --platform linux/amd64,linux/arm64 .
# The builder always runs on the build machine's own platform and cross-compiles with zig as the linker
# (cargo-zigbuild), so an arm64 image never compiles Rust under QEMU emulation (hours instead of minutes).
# No Docker engine runs in this repository's test environment: this file is linted there (make test-release-config)
# and built only by .github/workflows/release.yml. Running it, SQLite and PostgreSQL: docs/releasing.md.

ARG RUST_VERSION=1.95

FROM --platform=$BUILDPLATFORM rust:${RUST_VERSION}-bookworm AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# zig and cargo-zigbuild from PyPI, the versions the rest of the release uses (scripts and docs/releasing.md).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/zig \
 && /opt/zig/bin/pip install --no-cache-dir ziglang==0.17.0 cargo-zigbuild==0.24.0 \
 && rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl
ENV PATH=/opt/zig/bin:$PATH

WORKDIR /src
COPY . .
ARG TARGETARCH
# The cargo registry and target directory are cache mounts (kept between builds, absent from the image), so the
# binary is copied out in the same step. Both architectures' builds share them (each triple has its own folder under
# target/, the build scripts and proc macros are the build machine's), one at a time. /out/data becomes the /data
# volume, owned by the image's user.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    case "$TARGETARCH" in \
      amd64) triple=x86_64-unknown-linux-musl ;; \
      arm64) triple=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported TARGETARCH: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && cargo zigbuild --locked --release -p allowly-cli --bin allowly --target "$triple" \
 && mkdir -p /out/data \
 && cp "target/$triple/release/allowly" /out/allowly

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=builder /out/allowly /usr/local/bin/allowly
COPY --from=builder --chown=65532:65532 /out/data /data
COPY LICENSE /usr/share/doc/allowly/LICENSE
USER 65532:65532
WORKDIR /data
# The SQLite database (and its -wal/-shm files) live here; mount a volume so they outlive the container.
VOLUME ["/data"]
EXPOSE 8787
# `allowly` is the entrypoint so the same image runs `init` once (`docker run ... IMAGE init --db URL`); the default
# command serves on every interface of the container with the SQLite file in the volume. ALLOWLY_MASTER_KEY must be
# set in the environment (never a flag). PostgreSQL: replace the command with `serve --listen 0.0.0.0:8787 --db
# postgres://USER@HOST/DB` and pass PGPASSWORD in the environment, so the password is in no argument.
# No HEALTHCHECK: distroless has no shell or HTTP client to run one and `allowly` has no probe command; orchestrators
# probe GET /healthz (process up) and GET /readyz (database reachable, signer running) on port 8787 instead.
ENTRYPOINT ["/usr/local/bin/allowly"]
CMD ["serve", "--listen", "0.0.0.0:8787", "--db", "sqlite:/data/allowly.db"]
