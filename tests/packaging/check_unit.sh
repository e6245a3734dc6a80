#!/usr/bin/env bash
# check_unit.sh UNIT MOLT: packaging/molt@.service is what `molt run`'s
# notify support expects (Type=notify, a watchdog, restart on failure) and
# systemd-analyze verify finds nothing in it, its ExecStart pointed at the
# built molt. Skipped (77) without systemd-analyze.
set -euo pipefail
unit=$1 molt=$2
for want in '^Type=notify$' '^NotifyAccess=main$' '^Restart=on-failure$' '^WatchdogSec=' '^ExecStart=/usr/local/bin/molt run --home /var/lib/molt/%i'; do
  grep -q "$want" "$unit" || { echo "$unit: no line matching $want"; exit 1; }
done
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#/usr/local/bin/molt#$molt#g" "$unit" > "$dir/molt@.service"
out=$(systemd-analyze verify --man=no "$dir/molt@check.service" 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "$out"; exit 1; }
echo "verified: $unit"
