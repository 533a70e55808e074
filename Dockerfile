# eventhub on Debian 12: build stage with the -dev packages, slim runtime stage.
# Every dependency() of meson.build has its -dev package here and its library below.
FROM debian:12 AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential meson ninja-build pkg-config python3 \
      libnats-dev libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libyaml-dev zlib1g-dev \
      libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build --buildtype=release && ninja -C /build cmd/eventhub/eventhub

FROM debian:12-slim
# libssl3 holds libcrypto (HMAC of signed webhooks); curl is the health check's client.
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libnats3.4 libmicrohttpd12 libcurl4 libcjson1 libyaml-0-2 zlib1g libssl3 ca-certificates \
      tzdata nats-server curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/eventhub --create-home eventhub
COPY --from=build /build/cmd/eventhub/eventhub /usr/local/bin/eventhub
COPY config.yaml.example /etc/eventhub/config.yaml
USER eventhub
WORKDIR /var/lib/eventhub
# The relative defaults land here: data/nats (embedded broker), logs (domain logs).
VOLUME ["/var/lib/eventhub"]
EXPOSE 8080
# /health answers 200 once JetStream is set up, 503 while NATS is away or during a
# drain. Another server.port: docker run -e EVENTHUB_HEALTH_URL=http://127.0.0.1:PORT/health
ENV EVENTHUB_HEALTH_URL=http://127.0.0.1:8080/health
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS -o /dev/null --max-time 2 "$EVENTHUB_HEALTH_URL" || exit 1
# A drain can take server.shutdown_timeout plus the publish timeout and more: give
# `docker stop -t 60` (compose: stop_grace_period) rather than the 10 s default.
STOPSIGNAL SIGTERM
# nats-server is included so `nats.url: embedded` works in a single container; point
# nats.url at your cluster in production.
ENTRYPOINT ["/usr/local/bin/eventhub"]
CMD ["-config", "/etc/eventhub/config.yaml"]
