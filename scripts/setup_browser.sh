#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the page's end-to-end test (crates/serve/tests).
# Idempotent: does nothing when both are on PATH. Installs Debian's `chromium` and
# `chromium-driver` with apt-get (as root, or through sudo when it is available).
set -euo pipefail
log() { printf '[setup-browser] %s\n' "$*" >&2; }
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  log "chromium and chromedriver ready"
  exit 0
fi
command -v apt-get >/dev/null || {
  log "no apt-get: install chromium and chromedriver yourself (the browser test needs them)"
  exit 0
}
sudo=""
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || {
    log "not root and no sudo: install chromium and chromium-driver yourself"
    exit 0
  }
  sudo="sudo"
fi
log "installing chromium and chromium-driver (apt-get)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
log "installed $(chromium --version 2>/dev/null || echo chromium)"
