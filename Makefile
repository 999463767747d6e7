# The README's two commands are `make run` and `make test`; the rest are helpers.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
MEDMNIST_ROOT ?= $(abspath ../shared/data/medmnist)
export MEDMNIST_ROOT
CMAKE_FLAGS ?=
STUDY_OUT ?= study
PRESET ?= quick

FUZZ_DIR ?= build-fuzz
SANITIZE_DIR ?= build-sanitize
FUZZ_SECONDS ?= 60

.PHONY: deps deps-test build run test test-slow test-real test-browser test-sanitize bench fuzz format format-check clean

deps:
	@./scripts/install-deps.sh

deps-test:
	@./scripts/install-deps.sh --test

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The whole study (experiments 1, 2A-2D and 3) with the quick preset into $(STUDY_OUT)/, then
# $(STUDY_OUT)/report.html. A second `make run` skips what is complete and resumes what was interrupted.
# `make run PRESET=full` runs the experiment files' own settings (3 seeds, up to 100 epochs).
run: build
	$(BUILD_DIR)/bin/mednet study --config experiments/study.json --out $(STUDY_OUT) --preset $(PRESET)

test: deps-test build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -LE slow

# The tests too long for CI (labelled slow): the study killed and resumed 8 times on the real files.
test-slow: deps-test build
	cd $(BUILD_DIR) && ctest --output-on-failure -L slow

# Only the study report in headless chromium.
test-browser: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L browser

# Only the tests that read the real MedMNIST files.
test-real: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L real-data -LE slow

# The benchmarks; the last two rows of commands put mednet beside PyTorch Python (Debian's python3-torch,
# which deps-test installs) at the study's sizes and at MedMNIST+ sizes (64^3, 128 and 224 px).
bench: deps-test build
	$(BUILD_DIR)/bin/bench_micro
	$(BUILD_DIR)/bin/bench_epoch
	$(BUILD_DIR)/bin/bench_augment
	$(BUILD_DIR)/bin/bench_transfer
	$(BUILD_DIR)/bin/bench_quant
	$(BUILD_DIR)/bin/bench_predict
	bench/dist_scaling.sh $(BUILD_DIR)
	PYTHON=/usr/bin/python3 bench/compare.sh $(BUILD_DIR) --device cpu --threads 2 --epochs 2 --json $(BUILD_DIR)/compare_cpu.json
	PYTHON=/usr/bin/python3 bench/compare.sh $(BUILD_DIR) --plus --device cpu --threads 2 --epochs 2 --json $(BUILD_DIR)/compare_cpu_plus.json

# The libFuzzer harnesses of fuzz/ (clang, AddressSanitizer, UndefinedBehaviorSanitizer), each run for
# FUZZ_SECONDS on a corpus seeded by the build; inputs that crash or hang go to $(FUZZ_DIR)/findings/.
fuzz:
	@./scripts/install-deps.sh --fuzz
	scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer (clang, -O1) in $(SANITIZE_DIR)/.
test-sanitize:
	@./scripts/install-deps.sh --fuzz
	scripts/test-sanitize.sh $(SANITIZE_DIR)

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.cpp' '*.h')

format-check: deps
	clang-format --dry-run --Werror $$(git ls-files --cached --others --exclude-standard '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
