#!/usr/bin/env bash
# Set-up of the real-photo evaluation (make real-photos): idempotent.
# - Fetches Debian's tuxpaint-stamps-default (pinned version, checked by SHA-256; about 161 MB)
#   with `apt-get download` and unpacks it with dpkg-deb into a cache folder shared by every clone
#   (nothing is installed system-wide, so no root is needed beyond apt's own lists).
# - Creates a small venv with pinned Pillow and NumPy for scripts/real_photos.py.
# - Builds data/real_photos/ (scripts/real_photos.py does nothing when it is up to date).
#
# Environment:
#   WEBLY_PHOTOS_VENV   the venv (default: ${XDG_CACHE_HOME:-~/.cache}/webly/venv-photos)
#   WEBLY_STAMPS_DIR    where the package is unpacked (default: ${XDG_CACHE_HOME:-~/.cache}/webly/tuxpaint-stamps-<version>)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/webly"
deb_name="tuxpaint-stamps-default"
deb_version="2022.06.04-1"
deb_sha256="6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34"
stamps_root="${WEBLY_STAMPS_DIR:-$cache/$deb_name-$deb_version}"
stamps="$stamps_root/usr/share/tuxpaint/stamps"
venv="${WEBLY_PHOTOS_VENV:-$cache/venv-photos}"
py="$venv/bin/python"
stamp="$venv/.webly-packages"
packages=("pillow==13.0.0" "numpy==2.4.6")

log() { printf '[real-photos] %s\n' "$*" >&2; }

ensure_stamps() {
  if [[ -f "$stamps_root/.complete" ]]; then
    log "package ready: $stamps_root"
    return
  fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
    log "apt-get and dpkg-deb are needed to fetch $deb_name (Debian's package)"; exit 1; }
  local tmp deb
  tmp="$(mktemp -d)"
  log "fetching $deb_name=$deb_version (about 161 MB)"
  if ! (cd "$tmp" && apt-get download -q "$deb_name=$deb_version" >/dev/null 2>&1); then
    log "not in apt's lists: running apt-get update once"
    apt-get update -q >/dev/null
    (cd "$tmp" && apt-get download -q "$deb_name=$deb_version" >/dev/null 2>&1) || {
      log "apt-get download $deb_name=$deb_version failed"; exit 1; }
  fi
  deb="$(ls "$tmp"/*.deb)"
  echo "$deb_sha256  $deb" | sha256sum -c --quiet - || {
    log "$deb: SHA-256 differs from $deb_sha256"; exit 1; }
  rm -rf "$stamps_root.tmp"
  mkdir -p "$stamps_root.tmp"
  dpkg-deb -x "$deb" "$stamps_root.tmp"
  touch "$stamps_root.tmp/.complete"
  rm -rf "$stamps_root"
  mv "$stamps_root.tmp" "$stamps_root"
  rm -rf "$tmp"
  log "unpacked into $stamps_root"
}

ensure_venv() {
  if [[ "$(cat "$stamp" 2>/dev/null)" == "${packages[*]}" ]] && "$py" -c 'import PIL, numpy' 2>/dev/null; then
    return
  fi
  command -v python3 >/dev/null || { log "python3 is required (with the venv module)"; exit 1; }
  log "installing ${packages[*]} into $venv"
  mkdir -p "$(dirname "$venv")"
  [[ -x "$py" ]] || python3 -m venv "$venv"
  "$py" -m pip install --disable-pip-version-check -q "${packages[@]}"
  printf '%s' "${packages[*]}" > "$stamp"
}

ensure_stamps
ensure_venv
"$py" "$root/scripts/real_photos.py" --stamps "$stamps" --out "$root/data/real_photos" "$@"
