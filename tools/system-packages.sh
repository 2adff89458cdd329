#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the local stack and its tests need, when they are missing, the
# way `playwright install --with-deps` does: with apt-get as root, through `sudo -n` when that works,
# otherwise it prints the one command to run and exits 1.
#   bash tools/system-packages.sh redis-server chromium
# Known packages: redis-server (the simulated L2 regions), chromium (the dashboard's browser test).
set -u

present() {
  case "$1" in
    redis-server) command -v redis-server >/dev/null 2>&1 ;;
    chromium) [ -x /usr/bin/chromium ] ;;
    *) echo "system-packages: unknown package '$1' (known: redis-server, chromium)" >&2; return 2 ;;
  esac
}

missing=()
for package in "$@"; do
  present "$package"
  case $? in
    0) ;;
    1) missing+=("$package") ;;
    *) exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: missing ${missing[*]}; install them with your package manager (this script knows apt-get only)" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "system-packages: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "system-packages: installing ${missing[*]} with apt-get..."
export DEBIAN_FRONTEND=noninteractive
if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "system-packages: apt-get could not install ${missing[*]}" >&2
  exit 1
fi
for package in "${missing[@]}"; do
  if ! present "$package"; then
    echo "system-packages: ${package} is still missing after apt-get" >&2
    exit 1
  fi
done
echo "system-packages: installed ${missing[*]}"
