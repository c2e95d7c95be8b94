# syntax=docker/dockerfile:1
# Build: a full Rust toolchain; the dependency layer is cached apart from the sources.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && cargo build --release --locked && rm -rf src
COPY build.rs ./
COPY src src
COPY migrations migrations
COPY locales locales
COPY assets assets
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

# Run: a slim image with the binary only, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home profile-api
COPY --from=build /src/target/release/profile-api /usr/local/bin/profile-api
USER profile-api
WORKDIR /data
ENV BIND_ADDR=0.0.0.0:8080 \
    LOG_FORMAT=json \
    DATA_DIR=/data
EXPOSE 8080
ENTRYPOINT ["profile-api"]
CMD ["serve"]
