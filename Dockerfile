# The sipsimple-rs gateway image: the native gateway (SIP over WebSocket to UDP, embedded
# registrar and proxy, SQLite state) serving the softphone page and its WebAssembly client.
#
#   docker compose up                     # with docker-compose.yml beside this file
#   docker build -t sipsimple-gateway .   # the image alone
#
# Two stages: a Rust builder that makes web/pkg and the release binary, and a slim Debian
# runtime that runs them as the unprivileged user `sipsimple`, with its state in /data.

FROM rust:1-bookworm AS builder
# Must equal the wasm-bindgen version in Cargo.lock; `cargo xtask test` checks that it does.
ARG WASM_BINDGEN_VERSION=0.2.130
# libopus-dev: the gateway's Opus codec (media relay) links libopus through pkg-config.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus-dev pkg-config \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add wasm32-unknown-unknown \
 && cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}"
WORKDIR /src
COPY . .
# `cargo xtask build-web` is the build-web step itself: client-wasm for wasm32 (profile
# wasm-release), then wasm-bindgen --target web into web/pkg. Then the gateway, release.
RUN cargo xtask build-web \
 && cargo build --release -p sipsimple-gateway \
 && install -m 0755 target/release/sipsimple-gateway /usr/local/bin/sipsimple-gateway

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --create-home --home-dir /home/sipsimple \
        --shell /usr/sbin/nologin sipsimple \
 && mkdir -p /data \
 && chown sipsimple:sipsimple /data
COPY --from=builder /usr/local/bin/sipsimple-gateway /usr/local/bin/sipsimple-gateway
COPY --from=builder /src/web /usr/share/sipsimple/web
USER sipsimple
WORKDIR /home/sipsimple
VOLUME /data
# HTTP (page + SIP over WebSocket), HTTPS (self-signed dev certificate), SIP over UDP, TCP
# and TLS; media: one UDP port for every browser (ICE) and RTP/RTCP pairs towards SIP.
EXPOSE 8080 8443 5060/udp 5060/tcp 5061/tcp 40000/udp 20000-20999/udp
# The data dir is an option of the gateway itself, so it also applies to
# `docker compose run --rm gateway user add|list|remove|passwd ...`.
ENTRYPOINT ["sipsimple-gateway", "--data-dir", "/data"]
 # In a container the media relay binds all interfaces; set SIPSIMPLE_MEDIA_ADVERTISE to the
# host's address so SDP and ICE candidates name one browsers and phones can reach.
ENV SIPSIMPLE_MEDIA_ADDRESS=0.0.0.0 SIPSIMPLE_MEDIA_WEBRTC_PORT=40000 SIPSIMPLE_MEDIA_RTP_PORTS=20000-20999
CMD ["serve", "--http", "0.0.0.0:8080", "--https", "0.0.0.0:8443", "--sip-udp", "0.0.0.0:5060", "--sip-tcp", "0.0.0.0:5060", "--sip-tls", "0.0.0.0:5061", "--web-dir", "/usr/share/sipsimple/web"]
