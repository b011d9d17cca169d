#!/usr/bin/env bash
# Set-up of the real-photo evaluation suite (make real-photos-data): idempotent.
# - Fetches the Debian packages whose photographs the sets are made of, each pinned by version and
#   checked by SHA-256, with `apt-get download`, and unpacks it with dpkg-deb into a cache folder
#   shared by every clone (nothing is installed system-wide, so no root is needed beyond apt's own
#   lists):
#     tuxpaint-stamps-default 2022.06.04-1   about 161 MB  -> data/real_photos
#     scratch 1.4.0.6~dfsg1-6.1              about  26 MB  -> data/real_photos_scratch
#     stellarium-data 0.22.2-1               about 246 MB  -> data/real_photos_stellarium
#       (only its nebulae/ folder and copyright file are kept: about 111 MB)
#   held out (fetched only when the set is named):
#     mate-backgrounds 1.26.0-1              about  47 MB  \
#     plasma-workspace-wallpapers 4:5.27.5-2 about  94 MB   -> data/real_photos_wallpapers
#     lomiri-wallpapers-16.04 20.04.0-2      about  16 MB  /
#       (only the photographs' folders and the copyright files are kept: about 29 MB)
# - Creates a small venv with pinned Pillow and NumPy for scripts/real_photos.py.
# - Builds every set of the suite (scripts/real_photos.py does nothing when a set is up to date);
#   the held-out set `wallpapers` (not in configs/real_photos_suite.toml) only when named.
#
# Usage: bash scripts/real_photos_setup.sh [SET ...]     (default: every set of the suite)
# Environment:
#   WEBLY_PHOTOS_VENV   the venv (default: ${XDG_CACHE_HOME:-~/.cache}/webly/venv-photos)
#   WEBLY_STAMPS_DIR    where tuxpaint-stamps-default is unpacked
#                       (default: ${XDG_CACHE_HOME:-~/.cache}/webly/tuxpaint-stamps-default-<version>)
#   WEBLY_PHOTOS_CACHE  where the other packages are unpacked (default: ${XDG_CACHE_HOME:-~/.cache}/webly)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/webly"
pkg_cache="${WEBLY_PHOTOS_CACHE:-$cache}"
venv="${WEBLY_PHOTOS_VENV:-$cache/venv-photos}"
py="$venv/bin/python"
stamp="$venv/.webly-packages"
packages=("pillow==13.0.0" "numpy==2.4.6")
all_sets=(tuxpaint scratch stellarium)
held_out_sets=(wallpapers)

log() { printf '[real-photos] %s\n' "$*" >&2; }

# ensure_deb NAME VERSION SHA256 SIZE DEST [PATH_IN_PACKAGE ...]
# Unpacks the package (only the given paths, when some are given) into DEST, once.
ensure_deb() {
  local name="$1" version="$2" sha256="$3" size="$4" dest="$5"
  shift 5
  if [[ -f "$dest/.complete" ]]; then
    log "package ready: $dest"
    return
  fi
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
    log "apt-get and dpkg-deb are needed to fetch $name (Debian's package)"; exit 1; }
  local tmp deb
  tmp="$(mktemp -d)"
  log "fetching $name=$version ($size)"
  if ! (cd "$tmp" && apt-get download -q "$name=$version" >/dev/null 2>&1); then
    log "not in apt's lists: running apt-get update once"
    apt-get update -q >/dev/null
    (cd "$tmp" && apt-get download -q "$name=$version" >/dev/null 2>&1) || {
      log "apt-get download $name=$version failed"; rm -rf "$tmp"; exit 1; }
  fi
  deb="$(ls "$tmp"/*.deb)"
  echo "$sha256  $deb" | sha256sum -c --quiet - || {
    log "$deb: SHA-256 differs from $sha256"; rm -rf "$tmp"; exit 1; }
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  if (($#)); then
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest.tmp" "$@"
  else
    dpkg-deb -x "$deb" "$dest.tmp"
  fi
  touch "$dest.tmp/.complete"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  rm -rf "$tmp"
  log "unpacked into $dest"
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

build_set() {
  local set="$1" src out t0=$SECONDS
  case "$set" in
    tuxpaint)
      local v="2022.06.04-1" dir
      dir="${WEBLY_STAMPS_DIR:-$cache/tuxpaint-stamps-default-$v}"
      ensure_deb tuxpaint-stamps-default "$v" \
        6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34 "about 161 MB" "$dir"
      src="$dir/usr/share/tuxpaint/stamps" out="$root/data/real_photos" ;;
    scratch)
      local v="1.4.0.6~dfsg1-6.1" dir
      dir="$pkg_cache/scratch-$v"
      ensure_deb scratch "$v" \
        36c582eb93110f64f06c4e685c41e933ccba2fa68db12f79b10bfe840b21fc10 "about 26 MB" "$dir" \
        ./usr/share/scratch/Media ./usr/share/doc/scratch
      src="$dir/usr/share/scratch/Media" out="$root/data/real_photos_scratch" ;;
    stellarium)
      local v="0.22.2-1" dir
      dir="$pkg_cache/stellarium-data-$v"
      ensure_deb stellarium-data "$v" \
        45aaebf39a814acbd6dcccea058c2f5651bcb5635599da03a215feeb51f4d5a5 "about 246 MB" "$dir" \
        ./usr/share/stellarium/nebulae ./usr/share/doc/stellarium-data
      src="$dir/usr/share/stellarium/nebulae/default" out="$root/data/real_photos_stellarium" ;;
    wallpapers)
      # three packages, each unpacked into its own folder under one (the set's --src)
      local dir="$pkg_cache/wallpapers" w
      ensure_deb mate-backgrounds "1.26.0-1" \
        7bf4c2209f34b4f61ba6d24c8b58c28b361e82e4b943aae6d42c030169af9e04 "about 47 MB" \
        "$dir/mate-backgrounds-1.26.0-1" \
        ./usr/share/backgrounds/mate/nature ./usr/share/doc/mate-backgrounds
      w=(BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey Kite
         OneStandsOut Path summer_1am)
      ensure_deb plasma-workspace-wallpapers "4:5.27.5-2" \
        32cd18b71c8c938a18b3b351f217c02ac590e323caa3cf322fbb875ce8892f8b "about 94 MB" \
        "$dir/plasma-workspace-wallpapers-5.27.5-2" \
        "${w[@]/#/./usr/share/wallpapers/}" ./usr/share/doc/plasma-workspace-wallpapers
      ensure_deb lomiri-wallpapers-16.04 "20.04.0-2" \
        a99ff6a3bfe451e4cc0682ecb3cc82e71740626d59e4845ae34a0a0e45421eab "about 16 MB" \
        "$dir/lomiri-wallpapers-16.04-20.04.0-2"
      src="$dir" out="$root/data/real_photos_wallpapers" ;;
    *) log "unknown set: $set (sets: ${all_sets[*]} ${held_out_sets[*]})"; exit 2 ;;
  esac
  ensure_venv
  "$py" "$root/scripts/real_photos.py" --set "$set" --src "$src" --out "$out"
  log "$set: done in $((SECONDS - t0)) s"
}

sets=("$@")
((${#sets[@]})) || sets=("${all_sets[@]}")
for set in "${sets[@]}"; do
  build_set "$set"
done
