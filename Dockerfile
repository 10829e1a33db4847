# imap-triage: the Discord support-triage bot.
#
#   docker build -t imap-triage .
#   docker run -d --name imap-triage -v imap-triage-data:/data \
#     -e IMAP_TRIAGE_DISCORD__TOKEN=... -e IMAP_TRIAGE_DISCORD__FORUM_CHANNELS='[123]' \
#     -e IMAP_TRIAGE_DISCORD__MODERATOR_ROLE=456 -e IMAP_TRIAGE_DISCORD__MOD_LOG_CHANNEL=789 \
#     imap-triage
#
# Configuration is by environment only (IMAP_TRIAGE_<SECTION>__<KEY>, see src/config.rs).
# No Docker engine runs where this project is developed and tested: CI lints this file
# (scripts/lint-docker) and checks that the subcommands it runs exist (tests/cli/dockerfile.rs).

# --- Stage 1: cargo-chef, shared by the planner and the builder -------------------------------
# The toolchain matches the one the project is tested with; bookworm matches the runtime's glibc.
FROM rust:1.95-slim-bookworm AS chef
# The tesseract crate links libtesseract and generates its bindings with libclang.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libtesseract-dev libleptonica-dev clang libclang-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /src

# --- Stage 2: the dependency recipe (changes only when Cargo.toml / Cargo.lock change) --------
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- Stage 3: build; dependencies are their own cached layer, then the source -----------------
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin imap-triage
COPY . .
# Two binaries: the bot, and the OCR worker it starts beside itself (the only one linking
# Tesseract).
RUN cargo build --release --locked --bin imap-triage --bin imap-triage-ocr \
    && install -D -m 0755 target/release/imap-triage /out/imap-triage \
    && install -D -m 0755 target/release/imap-triage-ocr /out/imap-triage-ocr

# --- Stage 4: the runtime ---------------------------------------------------------------------
FROM debian:12-slim AS runtime

# ca-certificates for the HTTPS and gateway connections to Discord; libtesseract5 and its
# English language data to read screenshots (about +66 MB). Versions are not pinned: the base
# image's suite pins them, and a pinned Debian version disappears from the mirrors.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libtesseract5 tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user; the data directory is its only writable place.
RUN groupadd --system --gid 10001 triage \
    && useradd --system --uid 10001 --gid triage --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin triage \
    && install -d -o triage -g triage -m 0750 /data

COPY --from=builder /out/imap-triage /out/imap-triage-ocr /usr/local/bin/
# The shipped rules at a fixed path. The binary embeds the same pack; this copy is what an
# operator replaces by mounting a directory over it (read-only is fine): -v ./rules:/etc/imap-triage/rules:ro
COPY rules/ /etc/imap-triage/rules/

# Settings: only what the image fixes. Everything else (the Discord token, channels, role,
# probe and lifecycle settings) comes from the environment at `docker run`.
# OMP_THREAD_LIMIT=1: each OCR worker process is one thread; Tesseract's OpenMP threads would
# only compete with the other workers and the bot for the same cores.
ENV IMAP_TRIAGE_STORE__PATH=/data \
    IMAP_TRIAGE_RULES__PATH=/etc/imap-triage/rules \
    OMP_THREAD_LIMIT=1

# The triage log (sled). Mount a named volume or a host directory owned by uid 10001.
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001

# Healthy: the settings load and are complete, the rules load, the store takes a write, and
# (when IMAP_TRIAGE_METRICS__LISTEN is set) the running bot answers GET /health.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["imap-triage", "health"]

ENTRYPOINT ["imap-triage"]
CMD ["run"]
