# webly: the two commands of the README.
#   make demo  - all set-up, build, then the whole pipeline on the embedded default data
#   make test  - all set-up, then every test
#   make real-photos - the real-photo suite: fetches Debian's tuxpaint-stamps-default, scratch and
#                stellarium-data, builds data/real_photos{,_scratch,_stellarium} (once each), then
#                judges the triplet recipe against cross-entropy on every set, seeds 1-3
#                (configs/real_photos_suite.toml; tables in runs/real_photos_suite/suite.md)
#   make real-photos-data - only the sets
#   make test-cluster - the guide's Slurm recipe on a single-node Slurm that
#                scripts/setup_slurm.sh installs (slurm-wlm, munge; root or sudo) and starts
#   make bench-scale - the index, the evaluation and the activation cache at a million rows beside
#                their peers (not part of make bench: 18 min on the 2 cores under a load of 3-4, 36 min at 6-7; docs/benchmarks.md)
#   make fuzz  - every fuzz target of crates/fuzz for FUZZ_SECONDS (default 60) each, then a
#                table of executions, execs/s and findings (docs/fuzzing.md)
SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?= configs/demo.toml

.PHONY: setup build demo real-photos real-photos-data test test-cluster lint bench bench-scale bench-setup clean-runs fuzz

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --release -p webly

demo: build
	./target/release/webly run --config $(CONFIG)
	@echo
	@echo "Next, try:"
	@echo "  ./target/release/webly query \"snow mountain\" --config $(CONFIG) --html runs/query.html"
	@echo "  ./target/release/webly tag \"$$(ls data/demo/img_resized_1M/cities_instagram/london/*.jpg | head -1)\" --config $(CONFIG)"
	@echo "  ./target/release/webly serve --config $(CONFIG)    # then open http://127.0.0.1:8080/"
	@echo "  ./target/release/webly eval --compare runs/*"
	@echo "  ./target/release/webly collection create runs/my-photos --model runs/demo/models/triplet ~/Pictures   # your photos"

real-photos-data:
	@bash scripts/real_photos_setup.sh

real-photos: build real-photos-data
	./target/release/webly suite --config configs/real_photos_suite.toml

test: setup
	@bash scripts/setup_browser.sh
	@bash scripts/setup_clip_client.sh
	@bash scripts/setup_lancedb.sh
	$(CARGO) test --workspace --release
	@bash scripts/setup_python.sh
	$${WEBLY_PY_VENV:-$${XDG_CACHE_HOME:-$$HOME/.cache}/webly/venv-py}/bin/python -m pytest -q crates/python/tests

test-cluster: build
	@bash scripts/test_cluster.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings
	python3 scripts/check_links.py
	python3 scripts/module_cycles.py
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --release

fuzz: setup
	$(CARGO) build --release -p webly-fuzz
	bash scripts/fuzz.sh

bench-setup: setup
	@bash scripts/bench_setup.sh

bench: bench-setup build
	bash scripts/bench.sh

bench-scale: bench-setup
	bash scripts/bench_scale.sh

clean-runs:
	rm -rf runs
