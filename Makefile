# webly: the two commands of the README.
#   make demo  - all set-up, build, then the whole pipeline on the embedded default data
#   make test  - all set-up, then every test
SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?= configs/demo.toml

.PHONY: setup build demo test lint bench bench-setup clean-runs

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

test: setup
	@bash scripts/setup_browser.sh
	$(CARGO) test --workspace --release

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings

bench-setup: setup
	@bash scripts/bench_setup.sh

bench: bench-setup build
	bash scripts/bench.sh

clean-runs:
	rm -rf runs
