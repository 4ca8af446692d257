# june-relay — build, test, demo and benchmarks.
#   make demo    one command: embedded broker + June stub + sample events + the real pipeline
#   make test    format lint, then every test (unit, Kafka against the mock cluster, end to end with the built binary)
#   make bench   release binary vs dev-broker and june-stub: events/s, CPU s per 10k events, peak RSS
#   make bench-capacity   a June serving 32 requests at once at 20 ms (429 beyond, then a queue):
#                the relay with --concurrency adaptive and fixed; events/s, 429s, latency, the limit
SWIFT      ?= swift
APT_PKGS   := librdkafka-dev pkg-config kcat openssl prometheus tinyproxy
BIN_DEBUG  := .build/debug/june-relay
BIN_RELEASE:= .build/release/june-relay

.PHONY: deps build release test demo bench bench-capacity bench-transform leak-check clean

# Installs what a fresh Debian machine lacks when run as root; otherwise prints the command.
deps:
	@missing=""; \
	pkg-config --exists rdkafka 2>/dev/null || missing="$$missing librdkafka-dev pkg-config"; \
	command -v kcat >/dev/null 2>&1 || missing="$$missing kcat"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v tinyproxy >/dev/null 2>&1 || missing="$$missing tinyproxy"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	  else \
	    echo "missing packages; run: sudo apt-get update && sudo apt-get install -y $(APT_PKGS)"; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build --product june-relay

release: deps
	$(SWIFT) build -c release --product june-relay

test: deps
	scripts/format-lint.sh
	$(SWIFT) build --build-tests
	JUNE_RELAY_BIN=$(CURDIR)/$(BIN_DEBUG) $(SWIFT) test --skip-build

demo: build
	$(BIN_DEBUG) demo

bench: release
	scripts/bench.sh $(BIN_RELEASE)

bench-capacity: release
	CAPACITY=$${CAPACITY:-32} scripts/bench.sh $(BIN_RELEASE)

bench-transform: deps
	scripts/bench-transform.sh

leak-check: deps
	scripts/leak-check.sh

clean:
	rm -rf .build
