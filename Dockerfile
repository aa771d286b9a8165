# pgseal: build with cgo (pg_query is PostgreSQL's parser in C), run on a slim Debian.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/proxy ./cmd/proxy

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/pgseal --create-home pgseal
COPY --from=build /out/proxy /usr/local/bin/proxy
USER pgseal
WORKDIR /var/lib/pgseal
EXPOSE 6432 9930
ENTRYPOINT ["/usr/local/bin/proxy"]
CMD ["serve", "--config", "/etc/pgseal/proxy.toml"]
