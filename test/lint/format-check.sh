#!/usr/bin/env bash
# Checks that every *.cpp and *.hpp under the given directories is formatted as the project's .clang-format
# says; lists the files that are not.
#
# usage: format-check.sh CLANG_FORMAT SOURCE_DIR DIR... [--exclude DIR...]
#   DIR and the excluded DIRs are relative to SOURCE_DIR.
set -euo pipefail

format=$1 src=$2
shift 2
dirs=() prune=()
target=dirs
for arg in "$@"; do
  if [ "$arg" = --exclude ]; then
    target=excluded
  elif [ "$target" = dirs ]; then
    dirs+=("$src/$arg")
  else
    prune+=(-path "$src/$arg" -prune -o)
  fi
done

unformatted=()
count=0
while IFS= read -r -d '' f; do
  count=$((count + 1))
  if ! "$format" --dry-run -Werror "$f" >/dev/null 2>&1; then
    unformatted+=("${f#"$src/"}")
  fi
done < <(find "${dirs[@]}" "${prune[@]}" -type f \( -name '*.cpp' -o -name '*.hpp' \) -print0 | sort -z)

if [ ${#unformatted[@]} -ne 0 ]; then
  echo "format-check: ${#unformatted[@]} of $count files are not formatted (run: $format -i FILE...):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "format-check: $count files formatted"
