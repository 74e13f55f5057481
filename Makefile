# cloudlet — `make run` to try it, `make test` to prove it.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin

VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN       := bin/cloudlet
DATA_DIR  ?= $(CURDIR)/data
RUN_DIR   ?= $(if $(filter 0,$(shell id -u)),/run/cloudlet,$(CURDIR)/data/run)
LISTEN    ?= 127.0.0.1:8080
QEMU_USER ?= cloudlet-qemu
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X main.version=$(VERSION)"
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_LOG  := .cache/test.log

.PHONY: run build ui deps run-deps test-deps test soak testguest cloudguest bench lint install clean

## run: install what is missing, build, and start cloudlet in the foreground on $(DATA_DIR)
## On the first start (a fresh DATA_DIR) it imports the test guest as the public image "tiny", to launch at once.
run: run-deps build testguest
	$(BIN) serve --data-dir $(DATA_DIR) --run-dir $(RUN_DIR) --socket $(RUN_DIR)/cloudlet.sock --listen $(LISTEN) --qemu-user $(QEMU_USER) \
		--first-start-image tiny=$$(readlink -f .cache/testguest/disk.qcow2)

build: ui
	go build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/cloudlet

## ui: the dashboard's front-end assets (pinned npm packages, bundled by esbuild) into web/ui/dist, for go:embed.
## go build works without them: the pages then work as plain forms and say the assets are missing.
ui:
	web/ui/build.sh

# deps and test-deps also create the QEMU user (QEMU_USER=root skips it, and make run then runs QEMU as root).
deps:
	CLOUDLET_QEMU_USER=$(QEMU_USER) packaging/deps.sh runtime

run-deps:
	CLOUDLET_QEMU_USER=$(QEMU_USER) packaging/deps.sh run

test-deps:
	packaging/deps.sh test

## test: the whole suite, unit and end-to-end (real QEMU, real namespaces). Fails if anything skipped,
## or if any process naming the run's own TMPDIR (a QEMU, a daemon) is still running at the end.
## (`go test -short ./...` is the fast local loop: it leaves out the end-to-end and QEMU-booting tests.)
## -timeout bounds one package's whole run (a hang guard): appliance/e2e runs its tests one after another,
## 23-25 min on a 2-core TCG machine beside the other suites and 48 min with a second whole suite running
## too (ci26, ci27); no test waits on it. The end-to-end suites (e2e, browser, cloudinit, openstack) are
## packages of their own, so go test runs them side by side.
## The console shows each test's messages without the dumps under them (daemon logs, multi-line details:
## lines indented 8 spaces) and cut to 400 characters, so a failure's reason sits next to its --- FAIL line;
## $(TEST_LOG) keeps everything. A red run ends with each failing test's first messages (.ci/failures).
test: test-deps testguest cloudguest ui
	@mkdir -p .cache
	go build -o .cache/leftovers ./appliance/testproc/leftovers
	@tmp=$$(mktemp -d /tmp/clt.XXXXXX) && chmod 1777 "$$tmp" && echo "test run TMPDIR=$$tmp"; \
	set -o pipefail; TMPDIR="$$tmp" go test -race -count=1 -timeout 60m -v ./... 2>&1 | tee $(TEST_LOG) | grep -v -E '^=== (RUN|PAUSE|CONT|NAME)|^        ' | cut -c1-400; \
	rc=$$?; .cache/leftovers "$$tmp" || rc=1; rm -rf --one-file-system "$$tmp"; [ $$rc -eq 0 ] || .ci/failures $(TEST_LOG); exit $$rc
	@if grep -E -- '--- SKIP' $(TEST_LOG); then echo "FAIL: tests were skipped (an end-to-end suite that skips is a failure)"; exit 1; fi
	@echo "$$(grep -c -E -- '^\s*--- PASS' $(TEST_LOG)) passed, $$(grep -c -E -- '^\s*--- FAIL' $(TEST_LOG)) failed"

## soak: the crash-cycle harness, long: CYCLES kill -9 cycles of the real daemon (SOAK_SEED replays a run).
## Its log is in $(SOAK_LOG); it ends with one line: N cycles, N crash points hit, N lost instances, N orphans.
CYCLES    ?= 1000
SOAK_LOG  := .cache/soak.log
soak: test-deps testguest
	@mkdir -p .cache
	@go build -o .cache/leftovers ./appliance/testproc/leftovers
	@tmp=$$(mktemp -d /tmp/clt.XXXXXX) && chmod 1777 "$$tmp"; \
	TMPDIR="$$tmp" CLOUDLET_SOAK_CYCLES=$(CYCLES) $(if $(SOAK_SEED),CLOUDLET_SOAK_SEED=$(SOAK_SEED)) \
	go test -race -count=1 -timeout 0 -v -run '^TestCrashCycles$$' ./appliance/e2e > $(SOAK_LOG) 2>&1; \
	rc=$$?; .cache/leftovers "$$tmp" >&2 || rc=1; rm -rf --one-file-system "$$tmp"; \
	grep -E '^ {4}[a-z_]+_test\.go:[0-9]+: ' $(SOAK_LOG) | sed 's/^ *//' >&2; \
	line=$$(grep -E '^soak summary: ' $(SOAK_LOG) | tail -1 | sed 's/^soak summary: //'); \
	if [ $$rc -ne 0 ]; then echo "FAIL (see $(SOAK_LOG))" >&2; fi; \
	echo "$${line:-0 cycles, 0 crash points hit, the harness did not finish (see $(SOAK_LOG))}"; exit $$rc

## testguest: build the tiny test guest into .cache/testguest (cached by content hash)
testguest:
	images/testguest/build.sh $(CURDIR)/.cache/testguest

## cloudguest: build the Debian 12 cloud-init guest into .cache/cloudguest (debootstrap, as root; cached by content hash)
cloudguest:
	images/cloudguest/build.sh $(CURDIR)/.cache/cloudguest

## bench: benchmarks that report ratios against a baseline measured in the same run
bench:
	@mkdir -p bench-out
	go test -run '^$$' -bench . -benchmem -count 5 -timeout 0 ./... | tee bench-out/bench.txt

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	go mod tidy -diff
	go run $(STATICCHECK) ./...

## install: the binary, the systemd unit, tmpfiles and a default config (kept if present)
install: deps build
	install -D -m 0755 $(BIN) $(DESTDIR)/usr/local/bin/cloudlet
	install -D -m 0644 packaging/cloudlet.service $(DESTDIR)/etc/systemd/system/cloudlet.service
	install -D -m 0644 packaging/cloudlet.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/cloudlet.conf
	install -D -m 0644 README.md $(DESTDIR)/usr/local/share/doc/cloudlet/README.md
	[ -e $(DESTDIR)/etc/cloudlet/cloudlet.json ] || install -D -m 0600 packaging/cloudlet.json $(DESTDIR)/etc/cloudlet/cloudlet.json
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; echo "start with: systemctl enable --now cloudlet"; fi

clean:
	rm -rf bin .cache/test.log bench-out
