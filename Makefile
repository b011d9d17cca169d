# webly: the two commands of the README.
#   make demo  - all set-up, build, then the whole pipeline on the embedded default data
#   make test  - all set-up, then every test
#   make real-photos - the real-photo evaluation: fetches Debian's tuxpaint-stamps-default, builds
#                data/real_photos (once), then runs configs/real_photos.toml
SHELL := /bin/bash
CARGO ?= cargo
CONFIG ?= configs/demo.toml

.PHONY: setup build demo real-photos real-photos-data test lint bench bench-setup clean-runs

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

real-photos-data:
	@bash scripts/real_photos_setup.sh

real-photos: build real-photos-data
	./target/release/webly run --config configs/real_photos.toml

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
