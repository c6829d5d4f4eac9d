# klasgw - the two commands a newcomer needs, and a few more.
#   make run    install what is missing, build, start the gateway (foreground)
#               with the HSA, LV and pharmacy simulators beside it
#   make test   install what is missing, build, run every test (ctest)
# Everything else is plain CMake in $(BUILD).

BUILD      ?= build
CONFIG     ?= adapter/klasgw.conf.example
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# One test more than cores: the e2e tests spend part of their time waiting
# on peers (simulators, PostgreSQL), and the extra job fills those gaps
# (2 cores, idle: -j2 176 s, -j3 152 s for the whole suite).
TEST_JOBS  ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) + 1 )))

.PHONY: all deps configure build run test test-asan demo bench fuzz clean \
        reliability reliability-short package-test worked-example

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash scripts/run-demo.sh $(BUILD) $(CONFIG)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan \
	    CMAKE_ARGS="-DGW_ASAN=ON -DGW_UBSAN=ON $(CMAKE_ARGS)"

# libFuzzer targets with clang (tests/fuzz/fuzz_*.c), each run FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DGW_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target $(notdir $(basename $(wildcard tests/fuzz/fuzz_*.c)))
	@for t in tests/fuzz/fuzz_*.c; do n=$$(basename $$t .c); c=tests/fuzz/corpus/$${n#fuzz_}; \
	    w=$$(mktemp -d); cp $$c/* $$w/; echo "== $$n"; \
	    ./build-fuzz/tests/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	        -artifact_prefix=$$w/ $$w >$$w.log 2>&1; rc=$$?; tail -1 $$w.log; \
	    if [ $$rc -ne 0 ]; then tail -40 $$w.log; ls $$w/crash-* 2>/dev/null; exit 1; fi; \
	    rm -rf $$w $$w.log; done

# A walk through two cases against the gateway `make run` started.
demo:
	@bash scripts/demo.sh

bench: build
	@bash tests/bench/run-all.sh $(BUILD)

# The worked example of "adding a KLAS event" (README): an LV event added
# by a patch of at most 5 files, applied to a scratch copy of the tree,
# built there and run through the gateway (tests/worked-example/run.sh;
# a build of its own, about 2 minutes, so not part of `make test`).
worked-example:
	@bash tests/worked-example/run.sh

# The reliability suite (tests/reliability/): crashes, peers failing, a full
# disk, operations during delivery, a soak, two nodes on PostgreSQL behind
# haproxy. Full: R1 100 kills, LV down 60 s, a 30-minute soak, R6 30 kills
# (about 39 minutes); short: about 5 minutes.
reliability: build
	@KLASGW=$(abspath $(BUILD))/klasgw bash tests/reliability/run.sh full

reliability-short: build
	@KLASGW=$(abspath $(BUILD))/klasgw bash tests/reliability/run.sh short

# The Debian package (debian/): built with dpkg-buildpackage from a copy
# of the tree, unpacked with dpkg -x into a fresh root, and started as its
# systemd unit starts it (tests/e2e/test_deb_package.sh; a full compile,
# so minutes: ctest runs the same test on a `cmake --install` instead).
package-test: build
	@KLASGW_DEB_BUILD=1 JOBS=$(JOBS) KLASGW=$(abspath $(BUILD))/klasgw \
	    GW_SOURCE_DIR=$(CURDIR) GW_BUILD_DIR=$(abspath $(BUILD)) \
	    nice -n 10 bash tests/e2e/test_deb_package.sh

clean:
	rm -rf build build-asan build-fuzz
