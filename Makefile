# The one test command (README, .ci/run): formatting, vet, and every test with the race detector
# against a real throwaway PostgreSQL started by internal/pgtest.
.PHONY: test build dev bench
test:
	./scripts/test

build:
	go build -o proxy ./cmd/proxy

dev:
	go run ./cmd/proxy dev

bench:
	./bench/run
