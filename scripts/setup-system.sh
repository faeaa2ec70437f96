#!/usr/bin/env bash
# Install the Debian packages listed in scripts/system-packages.txt.
# Skips quickly when all are present; elsewhere prints what to install by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t pkgs < <(grep -v '^\s*#' "$here/system-packages.txt" | sed 's/\s.*//' | grep -v '^$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all ${#pkgs[@]} present"
  exit 0
fi
# RHVoice, MBROLA and SVOX Pico live in Debian's contrib and non-free components, which a
# minimal image leaves out: add them to every Debian source that lists only main.
enable_components() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -i -E '/^Components:/{/contrib/!s/$/ contrib/;/non-free( |$)/!s/$/ non-free/}' "$f"
  done
  if [ -f /etc/apt/sources.list ]; then
    sed -i -E '/^deb .*debian/{/contrib/!s/$/ contrib/;/ non-free( |$)/!s/$/ non-free/}' /etc/apt/sources.list
  fi
}
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "system packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  enable_components
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "system packages: done"
else
  echo "system packages missing: ${missing[*]}" >&2
  echo "install them with your package manager (Debian/Ubuntu: sudo apt-get install ${missing[*]});" >&2
  echo "the tests that need them are skipped, and 'fakevoice make-data' names what is missing." >&2
fi
