#!/usr/bin/env bash
# completion_test.sh MOLT COMPLETION [MOLT_BUNDLE MODULE_DIR]: source the
# bash completion COMPLETION, complete command lines of MOLT as bash would
# (COMP_WORDS, COMP_CWORD) and check COMPREPLY: verbs, a verb's options,
# an option's value, files. With MOLT_BUNDLE and MODULE_DIR (the built
# counter and driver modules), also against a real container started in a
# new home on three releases bundled here (no TCP port, so it runs beside
# other tests): module names for purge and ps --module, release versions
# for upgrade and remove, the home taken from --home earlier on the line.
set -uo pipefail
molt=$1 completion=$2 bundler=${3:-} moddir=${4:-}
# shellcheck source=/dev/null
source "$completion" || exit 1
fail=0

# expect "WORDS..." "EXPECTED..." : complete the last word of WORDS (the
# command molt stands first) and compare the sorted COMPREPLY.
expect() {
  local -a words
  read -r -a words <<<"$1"
  [[ $1 == *" " ]] && words+=("")
  COMP_WORDS=("$molt" "${words[@]:1}")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _molt
  local got
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ')
  got=${got% }
  if [ "$got" = "$2" ]; then
    echo "ok   [$1] -> $got"
  else
    echo "FAIL [$1] -> \"$got\", expected \"$2\""
    fail=1
  fi
}

verbs=$("$molt" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' | sort | tr '\n' ' ')
[ "$(wc -w <<<"$verbs")" -ge 10 ] || { echo "FAIL: molt --help lists too few commands: $verbs"; exit 1; }
expect "molt " "$(printf '%s\n' $verbs help | sort | tr '\n' ' ' | sed 's/ $//')"
expect "molt up" "upgrade"
expect "molt ps --sort m" "mailbox memory messages"
expect "molt top --o" "--once"
expect "molt r" "releases remove rollback run"
expect "molt --v" "--version"
expect "molt help ins" "inspect"
expect "molt upgrade -" "--check --commit --help --home --json --max-restarts --no-rehearsal --window"
expect "molt upgrade 1.0.0 --w" "--window"
expect "molt rollback --" "--help --home --json"
expect "molt run --s" "--schedulers --stuck-limit"
expect "molt ps --limit " ""
expect "molt new-module -" "--help"
expect "molt trace -" "--duration --help --home --json --max --module --rate"

# Files and directories.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/bundle" && touch "$dir/a.so" "$dir/notes.txt"
expect "molt load $dir/" "$dir/a.so $dir/bundle"
expect "molt unpack $dir/" "$dir/bundle"
expect "molt run --release $dir/b" "$dir/bundle"

if [ -n "$bundler" ]; then
  for v in 1.0.0 1.1.0 2.0.0; do
    cat >"$dir/$v.json" <<JSON
{"name": "compl", "version": "$v",
 "modules": [{"name": "counter", "vsn": "$v", "file": "counter-$v.so"},
             {"name": "driver", "vsn": "1.0.0", "file": "driver-1.0.0.so"}],
 "supervisor": {"children": [
   {"id": "counter", "module": "counter", "args": {"name": "counter"}},
   {"id": "driver", "module": "driver", "args": {"target": "counter"}}]}}
JSON
    "$bundler" "$dir/$v.json" "$moddir" "$dir/compl-$v" || fail=1
  done
  home=$dir/home
  "$molt" run --release "$dir/compl-1.0.0" --home "$home" --schedulers 1 >"$dir/run.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do "$molt" status --home "$home" >/dev/null 2>&1 && break; sleep 0.1; done
  "$molt" unpack "$dir/compl-1.1.0" --home "$home" >/dev/null || fail=1
  "$molt" unpack "$dir/compl-2.0.0" --home "$home" >/dev/null || fail=1
  expect "molt purge --home $home c" "counter"
  expect "molt ps --home $home --module d" "driver"
  expect "molt trace --home $home --module d" "driver"
  expect "molt inspect --home $home " "$("$molt" status --home "$home" --json | awk -F'\t' '/^\t\t\t"name":/ { v = $NF; gsub(/[",]/, "", v); print v }' | sort | tr '\n' ' ' | sed 's/ $//')"
  expect "molt upgrade --home $home " "1.1.0 2.0.0"
  expect "molt remove --home $home 2" "2.0.0"
  expect "molt remove --home $home 1" "1.1.0"
  # No container at the default home: nothing, quietly.
  (cd "$dir" && expect "molt upgrade " "") || fail=1
  "$molt" stop --home "$home" >/dev/null || fail=1
  wait "$pid" || { echo "FAIL: molt run exited $?"; cat "$dir/run.log"; fail=1; }
fi
exit $fail
