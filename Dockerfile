# syntax=docker/dockerfile:1
# june-relay container image (docs/operations.md).
#   docker build -t june-relay:local .
#   docker run --rm -e JUNE_WRITE_KEY=... june-relay:local run --brokers kafka:9092 --topic events
# Stage 1 builds a release binary with Swift's standard library linked in statically; stage 2 is a slim
# Debian with only librdkafka and CA certificates (HTTPS to June uses the system trust store).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
# The build folder is a BuildKit cache, so rebuilds after a source change reuse compiled dependencies.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product june-relay --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/june-relay" /out/june-relay

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka1 ca-certificates libstdc++6 tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 june \
    && useradd --system --uid 10001 --gid june --no-create-home --shell /usr/sbin/nologin june
COPY --from=build /out/june-relay /usr/local/bin/june-relay
# Defaults for containers; every JUNE_RELAY_* variable is an option of the subcommand (`june-relay environment` lists them).
# Two malloc arenas: record bytes are allocated on librdkafka's threads and freed on others, and
# glibc's per-thread arenas would keep the freed chunks (docs/performance.md).
ENV MALLOC_ARENA_MAX=2 \
    JUNE_RELAY_METRICS_PORT=9464 \
    JUNE_RELAY_LOG_FORMAT=json
EXPOSE 9464
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/june-relay"]
CMD ["run"]
