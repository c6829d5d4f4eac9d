# klasgw - the two commands a newcomer needs, and a few more.
#   make run    install what is missing, build, start the gateway (foreground)
#   make test   install what is missing, build, run every test (ctest)
# Everything else is plain CMake in $(BUILD).

BUILD      ?= build
CONFIG     ?= adapter/klasgw.conf.example
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps configure build run test test-asan demo bench fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@mkdir -p var
	exec ./$(BUILD)/klasgw -c $(CONFIG) serve

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan \
	    CMAKE_ARGS="-DGW_ASAN=ON -DGW_UBSAN=ON $(CMAKE_ARGS)"

bench: build
	@bash tests/bench/run-all.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz
