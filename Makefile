# The whole test suite: formatting, vet, staticcheck, every test with the race
# detector, and a short fuzz run of each parser.
GO ?= go
FUZZTIME ?= 10s

.PHONY: test lint unit fuzz bench build testssl

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
	$(GO) test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME) ./internal/proxy
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./limits
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./documents/manifest

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	$(GO) build -o gqlguard ./cmd/gqlguard

# Scan the default TLS configuration with testssl.sh (apt-get install testssl.sh).
testssl:
	scripts/testssl
