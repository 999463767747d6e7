# The README's two commands are `make run` and `make test`; the rest are helpers.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
MEDMNIST_ROOT ?= $(abspath ../shared/data/medmnist)
export MEDMNIST_ROOT
CMAKE_FLAGS ?=
RUN_OUT ?= runs/exp1

.PHONY: deps deps-test build run test test-real bench format format-check clean

deps:
	@./scripts/install-deps.sh

deps-test:
	@./scripts/install-deps.sh --test

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Experiment 1: the study's 3D CNN on AdrenalMNIST3D. A second `make run` continues (or just reports)
# the run already in $(RUN_OUT) instead of starting over.
run: build
	@if [ -f $(RUN_OUT)/state.json ]; then \
	  $(BUILD_DIR)/bin/mednet train --resume $(RUN_OUT); \
	else \
	  $(BUILD_DIR)/bin/mednet train --config experiments/exp1_cnn3d_adrenal.json --out $(RUN_OUT); \
	fi

test: deps-test build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Only the tests that read the real MedMNIST files.
test-real: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L real-data

bench: build
	$(BUILD_DIR)/bin/bench_micro
	$(BUILD_DIR)/bin/bench_epoch
	$(BUILD_DIR)/bin/bench_augment
	$(BUILD_DIR)/bin/bench_transfer
	$(BUILD_DIR)/bin/bench_quant

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

format-check: deps
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
