# The whole test suite: formatting, vet, staticcheck, every test with the race
# detector, and a short fuzz run of each parser.
GO ?= go
# The fuzz budget is a count of executions, not a duration: Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" when a
# duration-based -fuzztime ends while a worker is mid-call (go.dev/issue/75804).
FUZZTIME ?= 100000x

.PHONY: test lint unit fuzz microbench bench scale build testssl browser-deps

test: lint unit fuzz

lint:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./envelope
	$(GO) test -run '^$$' -fuzz '^FuzzParseMultipart$$' -fuzztime $(FUZZTIME) ./envelope
	$(GO) test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME) ./internal/proxy
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./limits
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./documents/manifest
	$(GO) test -run '^$$' -fuzz '^FuzzAccessLine$$' -fuzztime $(FUZZTIME) ./internal/telemetry

# Go micro-benchmarks, next to the code they measure.
microbench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Load benchmark on loopback: upstream, baseline proxy and gqlguard in
# alternating short rounds, about 2 minutes 25 seconds (see bench/README.md).
bench:
	$(GO) run ./bench

# Start-up time and resident memory of the real gqlguard serve with 1 and
# 100 000 documents in the folder store, about 30 s (bench/scale/main.go).
scale:
	$(GO) run ./bench/scale

# The Node packages the browser test drives Chromium with (Chromium itself:
# apt-get install chromium). Installed from the lock file, once.
BROWSER_DIR = internal/server/testdata/browser
browser-deps:
	@test -d $(BROWSER_DIR)/node_modules || (cd $(BROWSER_DIR) && npm ci --no-audit --no-fund)

build:
	$(GO) build -o gqlguard ./cmd/gqlguard

# Scan the default TLS configuration with testssl.sh (apt-get install testssl.sh);
# TESTSSL_REPORT=path keeps the JSON report.
testssl:
	scripts/testssl $(TESTSSL_REPORT)
