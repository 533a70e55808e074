# eventhub on Debian 12: build stage with the -dev packages, slim runtime stage.
FROM debian:12 AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential meson ninja-build pkg-config \
      libnats-dev libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libyaml-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build --buildtype=release && ninja -C /build cmd/eventhub/eventhub

FROM debian:12-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libnats3.4 libmicrohttpd12 libcurl4 libcjson1 libyaml-0-2 ca-certificates nats-server \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/eventhub --create-home eventhub
COPY --from=build /build/cmd/eventhub/eventhub /usr/local/bin/eventhub
COPY config.yaml.example /etc/eventhub/config.yaml
USER eventhub
WORKDIR /var/lib/eventhub
EXPOSE 8080
# nats-server is included so `nats.url: embedded` works in a single container; point
# nats.url at your cluster in production.
ENTRYPOINT ["/usr/local/bin/eventhub"]
CMD ["-config", "/etc/eventhub/config.yaml"]
