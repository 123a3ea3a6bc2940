# The whole test suite: formatting, vet, staticcheck, every test with the race
# detector, and a short fuzz run of each parser.
GO ?= go
# The fuzz budget is a count of executions, not a duration: Go 1.26's fuzz
# coordinator can report a spurious "context deadline exceeded" when a
# duration-based -fuzztime ends while a worker is mid-call (go.dev/issue/75804).
FUZZTIME ?= 100000x

.PHONY: test lint unit allocs fuzz microbench bench scale build testssl browser-deps

test: browser-deps lint unit allocs fuzz

lint:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -count=1 ./...

# Allocation budgets (testing.AllocsPerRun) hold only without the race
# detector, whose instrumentation allocates on its own (such tests skip
# under -race): the packages that have them run again without it.
allocs:
	$(GO) test -count=1 $$(grep -rl --include='*_test.go' 'AllocsPerRun' . | grep -v node_modules | xargs -n1 dirname | sort -u)

# Every fuzz target of every package, each for FUZZTIME.
fuzz:
	@set -e; for file in $$(grep -rlE --include='*_test.go' '^func Fuzz' . | grep -v node_modules | sort); do \
		for target in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]+)\(.*/\1/p' $$file); do \
			echo "$(GO) test -run '^$$' -fuzz '^$$target\$$' -fuzztime $(FUZZTIME) $$(dirname $$file)"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$(dirname $$file); \
		done; \
	done

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
# apt-get install chromium). Installed from the lock file, once; make test
# runs it first, so the browser test is never skipped for want of them.
BROWSER_DIR = internal/server/testdata/browser
browser-deps:
	@test -d $(BROWSER_DIR)/node_modules || (cd $(BROWSER_DIR) && npm ci --no-audit --no-fund)
	@test -x "$${CHROMIUM:-/usr/bin/chromium}" || echo "make: no Chromium at $${CHROMIUM:-/usr/bin/chromium}: the browser test will be skipped (apt-get install chromium; .ci/run installs it)"

build:
	$(GO) build -o gqlguard ./cmd/gqlguard

# Scan the default TLS configuration with testssl.sh (apt-get install testssl.sh);
# TESTSSL_REPORT=path keeps the JSON report.
testssl:
	scripts/testssl $(TESTSSL_REPORT)
