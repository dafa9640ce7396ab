# Loom's entry points. Each target that builds first installs any missing Debian package.
#   make run    deps + release build + the main job: loom run experiments/quickstart.yaml (report in reports/quickstart),
#               then its notebook: loom notebook render notebooks-md/sequence-parallel.md (reports/notebooks/)
#   make test   deps + swift test, then the Python reader's tests (python/tests; pandas not needed)
#   make cluster-test  Loom on network-namespace hosts and a real Slurm (root only; else it says why
#               and skips): hostfile launcher, a node killed mid-sweep, USR2 drain and requeue, tc
#   make bench  deps + release build + the full attention benchmark, then the wire benchmark
#   make speed  deps + release build + bench/speed_report.py: attention and training against PyTorch,
#               each goal marked met or short, in speed-report/report.md (SPEED_ARGS='--python PATH')
#   make build  release build only;  make deps  packages only
#   make install  release build, then copy loom to $(PREFIX)/bin (default ~/.local/bin; no sudo)
# Variables: LOOM_TARGET_CPU=native to compile the Swift code for this machine alone (default: the
# portable haswell level, AVX2 + FMA; the AVX-512 tile is chosen at run time, see README),
# SWIFTPM_FLAGS for extra SwiftPM flags (e.g. --scratch-path /tmp/build), RUN_ARGS (overrides and
# options for loom run, e.g. RUN_ARGS='tokens=[1024] --force'), BENCH_ARGS.

SHELL := /bin/bash
.DEFAULT_GOAL := run

# A fresh machine may have the toolchain in /opt/swift without it on PATH.
SWIFT_BIN_DIR := /opt/swift/usr/bin
ifneq ($(wildcard $(SWIFT_BIN_DIR)/swift),)
export PATH := $(SWIFT_BIN_DIR):$(PATH)
endif

SWIFT ?= swift
SWIFTPM_FLAGS ?=
DEBIAN_PACKAGES := libzmq3-dev libopenblas-dev libgraphviz-dev libyaml-dev libsqlite3-dev \
                   pkg-config gnuplot-nox graphviz chromium poppler-utils bubblewrap \
                   qemu-user
# sudo only when not already root (containers and CI often run as root without sudo).
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
RUN_ARGS ?=
BENCH_ARGS ?=
# make install copies the release loom to $(PREFIX)/bin; the default needs no sudo.
PREFIX ?= $(HOME)/.local
# The release binary, wherever SwiftPM puts it (it depends on SWIFTPM_FLAGS).
LOOM = "$$($(SWIFT) build -c release $(SWIFTPM_FLAGS) --show-bin-path)/loom"

.PHONY: deps build run test cluster-test bench speed install corpus

deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "make deps: no dpkg-query (not Debian/Ubuntu); install yourself: $(DEBIAN_PACKAGES)" >&2; \
		exit 0; \
	fi; \
	missing=""; \
	for package in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update \
		&& $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build -c release $(SWIFTPM_FLAGS)

run: build
	$(LOOM) run experiments/quickstart.yaml $(RUN_ARGS)
	$(LOOM) notebook render notebooks-md/sequence-parallel.md
	@loom=$(LOOM); echo "loom is at $$loom ('make install' copies it to $(PREFIX)/bin)"

# The installed loom still reads data/ from this checkout (loom train's default statistics).
install: build
	install -d "$(PREFIX)/bin"
	install -m 755 $(LOOM) "$(PREFIX)/bin/loom"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; \
		*) echo "make install: $(PREFIX)/bin is not on PATH; add it, e.g. export PATH=\"$(PREFIX)/bin:\$$PATH\"" ;; esac
	@echo "loom installed as $(PREFIX)/bin/loom"

test: deps
	$(SWIFT) test $(SWIFTPM_FLAGS)
	@# The suites that compute, again on the AVX2 tile when this CPU would pick AVX-512 (TileKernel),
	@# so both kernels are tested on an AVX-512 machine.
	@if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then \
		echo "make test: the numerics suites again with LOOM_KERNEL=avx2"; \
		LOOM_KERNEL=avx2 $(SWIFT) test $(SWIFTPM_FLAGS) --skip-build \
			--filter 'TensorCoreTests|AttentionTests|ModelsTests|DuoLLMTests|SequenceParallelTests|TileKernelCommandTests'; \
	fi
	LOOM="$$($(SWIFT) build $(SWIFTPM_FLAGS) --show-bin-path)/loom" python3 -m unittest discover -s python/tests

# Installs slurm-wlm and munge itself when it runs (cluster/test/slurm.sh); report in .build/cluster-test.
cluster-test: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	LOOM="$$($(SWIFT) build $(SWIFTPM_FLAGS) --show-bin-path)/loom" cluster/test/run.sh

bench: build
	$(LOOM) bench attention $(BENCH_ARGS)
	$(LOOM) bench wire

# The speed goals on this machine in one sitting, against PyTorch (bench/speed_report.py).
speed: build
	python3 bench/speed_report.py --loom $(LOOM) --out speed-report $(SPEED_ARGS)

# The default Duo-LLM corpus: a snapshot of README.md and docs/*.md (data/loom-docs.txt), taken
# again only on purpose, so results never depend on docs edited since.
corpus:
	export LC_ALL=C; for file in README.md docs/*.md; do cat "$$file"; echo; done > data/loom-docs.txt
	@wc -c data/loom-docs.txt
