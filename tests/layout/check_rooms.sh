#!/usr/bin/env bash
# check_rooms.sh ROOMS_TXT [--plant ROOM OBJECT]...: the rule between the
# container's rooms (runtime/CMakeLists.txt), checked on the built objects.
# ROOMS_TXT (build/rooms.txt) has one line per room: "room|rooms it uses,
# comma-separated|its objects, ;-separated". A room may refer to symbols
# defined in itself and in the rooms it uses, transitively; a reference
# to any other room's symbol is a violation, however it got there (an
# #include of a room above does not compile, but a hand-written extern
# does). --plant adds an object to a room, to prove the check can fail.
# Prints every violation and exits 1, else a one-line summary and 0.
set -euo pipefail
rooms_txt=$1
shift
declare -A uses objs
order=()
while IFS='|' read -r room used objects; do
  [ -n "$room" ] || continue
  order+=("$room")
  uses[$room]=${used//,/ }
  objs[$room]=${objects//;/ }
done <"$rooms_txt"
while [ $# -gt 0 ]; do
  [ "$1" = --plant ] && [ $# -ge 3 ] || { echo "usage: check_rooms.sh ROOMS_TXT [--plant ROOM OBJECT]..." >&2; exit 2; }
  [ -n "${objs[$2]+x}" ] || { echo "check_rooms: no room '$2'" >&2; exit 2; }
  objs[$2]="${objs[$2]} $3"
  shift 3
done

# The rooms a room may use: itself and the closure of its uses.
closure() {
  local seen=" $1 " todo=("$1") r u
  while [ ${#todo[@]} -gt 0 ]; do
    r=${todo[0]}
    todo=("${todo[@]:1}")
    for u in ${uses[$r]}; do
      case $seen in *" $u "*) ;; *) seen="$seen$u "; todo+=("$u") ;; esac
    done
  done
  echo "$seen"
}

# Which room defines each global symbol.
declare -A home
for r in "${order[@]}"; do
  for o in ${objs[$r]}; do
    while read -r sym; do home[$sym]=$r; done < <(nm -g --defined-only "$o" | awk 'NF == 3 { print $3 }')
  done
done

violations=0 refs=0
for r in "${order[@]}"; do
  allowed=$(closure "$r")
  for o in ${objs[$r]}; do
    while read -r sym; do
      s=${home[$sym]:-}
      [ -n "$s" ] || continue # libc, libuv, cJSON, ...
      [ "$s" = "$r" ] && continue
      refs=$((refs + 1))
      case $allowed in
        *" $s "*) ;;
        *) echo "violation: $r ($(basename "$o")) refers to $sym, defined in room $s, which $r may not use"
           violations=$((violations + 1)) ;;
      esac
    done < <(nm -u "$o" | awk '{ print $NF }')
  done
done
if [ "$violations" -gt 0 ]; then
  echo "check_rooms: $violations reference(s) against the rule between rooms"
  exit 1
fi
echo "check_rooms: ${#order[@]} rooms, $refs references between rooms, all to rooms below"
