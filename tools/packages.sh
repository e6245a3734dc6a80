#!/usr/bin/env bash
# packages.sh LABEL [PACKAGE...]: install, on Debian 12, whichever of the
# packages molt builds with (and the extra PACKAGEs given) are missing;
# print "LABEL: installing ..." when it does. Uses sudo unless root. What
# setup.sh and fuzz.sh share.
set -euo pipefail
label=$1
shift
packages="build-essential cmake pkg-config libuv1-dev libcjson-dev libcriterion-dev libsodium-dev libhttp-parser-dev libunwind-dev binutils libsystemd-dev scdoc groff-base dpkg-dev file $*"
missing=()
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "$label: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
