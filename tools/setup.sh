#!/usr/bin/env bash
# setup.sh [--asan|--tsan]: install what molt needs on Debian 12 (only what
# is missing), then configure and build. Default build: build/ (the fixed
# outputs build/bin/molt, build/modules, build/releases). --asan builds
# build-asan/ with AddressSanitizer+UndefinedBehaviorSanitizer, --tsan
# build-tsan/ with ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build sanitize=""
case "${1:-}" in
  --asan) dir=build-asan sanitize=address ;;
  --tsan) dir=build-tsan sanitize=thread ;;
  "") ;;
  *) echo "usage: tools/setup.sh [--asan|--tsan]" >&2; exit 2 ;;
esac

packages="build-essential cmake pkg-config libuv1-dev libcjson-dev libcriterion-dev libsodium-dev libhttp-parser-dev"
missing=()
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B "$dir" -DMOLT_SANITIZE="$sanitize" >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
echo "setup: built $dir/"
