#!/usr/bin/env bash
# check_rooms.sh ROOMS_TXT [--plant ROOM OBJECT]...: the rule between the
# container's rooms (runtime/CMakeLists.txt), checked on the built objects.
# ROOMS_TXT (build/rooms.txt) has one line per room: "room|rooms it uses,
# comma-separated|its folder|its objects, ;-separated". A room may refer
# to symbols defined in itself and in the rooms it uses, transitively; a
# reference to any other room's symbol is a violation, however it got
# there (an #include of a room above does not compile, but a hand-written
# extern does). The headers each object was compiled from (the compiler's
# .d file beside it) are held to the same rule, so neither a call nor an
# include crosses a room boundary upward, and no circle can span rooms.
# --plant adds an object to a room, to prove the check can fail.
# Prints every violation and exits 1, else a one-line summary and 0.
set -euo pipefail
rooms_txt=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# rooms: "room uses..." ; dirs: "folder room" ; objs: "object room".
: >"$tmp/rooms"; : >"$tmp/dirs"; : >"$tmp/objs"
while IFS='|' read -r room used dir objects; do
  [ -n "$room" ] || continue
  echo "$room ${used//,/ }" >>"$tmp/rooms"
  echo "$dir $room" >>"$tmp/dirs"
  for o in ${objects//;/ }; do echo "$o $room" >>"$tmp/objs"; done
done <"$rooms_txt"
while [ $# -gt 0 ]; do
  [ "$1" = --plant ] && [ $# -ge 3 ] || { echo "usage: check_rooms.sh ROOMS_TXT [--plant ROOM OBJECT]..." >&2; exit 2; }
  grep -q "^$2 " "$tmp/rooms" || grep -qx "$2" "$tmp/rooms" || { echo "check_rooms: no room '$2'" >&2; exit 2; }
  echo "$3 $2" >>"$tmp/objs"
  shift 3
done

objects=$(awk '{ print $1 }' "$tmp/objs")
# "object: symbol" for what each object defines and what it leaves undefined.
nm -A -g --defined-only $objects | awk 'NF == 3 { sub(/:[^:]*$/, "", $1); print $1, $3 }' >"$tmp/defs"
nm -A -u $objects | awk '{ sub(/:$/, "", $1); print $1, $NF }' >"$tmp/undefs"
# "object header" for every header each object was compiled with.
for o in $objects; do
  [ -f "$o.d" ] || continue
  sed -e 's/\\$//' -e 's/^[^:]*://' "$o.d" | tr ' ' '\n' | awk -v o="$o" '/\.h$/ { print o, $0 }'
done >"$tmp/headers"

awk -v rooms="$tmp/rooms" -v dirs="$tmp/dirs" -v objs="$tmp/objs" -v defs="$tmp/defs" \
    -v undefs="$tmp/undefs" -v headers="$tmp/headers" '
function base(p) { sub(/.*\//, "", p); return p }
function dir(p) { sub(/\/[^\/]*$/, "", p); return p }
# may[r, s]: room r may use room s (itself, and what it uses, transitively).
function close_over(r, s, u, n, i, list) {
  may[r, s] = 1
  n = split(uses[s], list, " ")
  for (i = 1; i <= n; i++) if (!((r, list[i]) in may)) close_over(r, list[i])
}
function judge(r, s, o, what) {
  if (s == "" || s == r) return
  count[what]++
  if (!((r, s) in may)) {
    printf "violation: %s (%s) %s, which %s may not use\n", r, base(o), msg, r
    bad++
  }
}
BEGIN {
  while ((getline line < rooms) > 0) {
    n = split(line, f, " "); order[++nrooms] = f[1]; uses[f[1]] = ""
    for (i = 2; i <= n; i++) uses[f[1]] = uses[f[1]] " " f[i]
  }
  for (i = 1; i <= nrooms; i++) close_over(order[i], order[i])
  # control_client shares control'"'"'s folder; the folder is control'"'"'s.
  while ((getline line < dirs) > 0) { split(line, f, " "); if (!(f[1] in dir_room)) dir_room[f[1]] = f[2] }
  while ((getline line < objs) > 0) { split(line, f, " "); obj_room[f[1]] = f[2] }
  while ((getline line < defs) > 0) { split(line, f, " "); home[f[2]] = obj_room[f[1]] }
  while ((getline line < undefs) > 0) {
    split(line, f, " "); r = obj_room[f[1]]; s = home[f[2]]
    msg = "refers to " f[2] ", defined in room " s
    judge(r, s, f[1], "symbol")
  }
  while ((getline line < headers) > 0) {
    split(line, f, " "); r = obj_room[f[1]]; d = dir(f[2]); s = (d in dir_room) ? dir_room[d] : ""
    msg = "was compiled with " f[2] ", a header of room " s
    judge(r, s, f[1], "header")
  }
  if (bad) { printf "check_rooms: %d reference(s) against the rule between rooms\n", bad; exit 1 }
  printf "check_rooms: %d rooms; %d symbol references and %d header inclusions between rooms, all to rooms below\n", nrooms, count["symbol"], count["header"]
}'
