#!/usr/bin/env bash
# The bash completion (tools/itensor/completion.bash) completes commands, options (from each
# command's --help), closed option values, files and the tensor ids of a real store.
# Usage: completion.sh ITENSOR COMPLETION_FILE
set -uo pipefail
it=$1
PATH="$(cd "$(dirname "$it")" && pwd):$PATH"
source "$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
itensor demo "$dir/d" >/dev/null || { echo "FAIL the demo store"; exit 1; }
fails=0
# check "WANTED" WORDS...: completing the last word gives exactly WANTED
check() {
    local want=$1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _itensor
    local got="${COMPREPLY[*]-}"
    if [ "$got" = "$want" ]; then
        echo "ok   itensor ${*:2} -> $got"
    else
        echo "FAIL itensor ${*:2}: got \"$got\", wanted \"$want\""
        fails=$((fails + 1))
    fi
}
check "export" itensor ex
check "compact" itensor com
check "--compression --contiguous --coord-units" itensor export --co
check "zstd" itensor export --compression z
check "viridis" itensor preview --colormap v
check "--json" itensor compact --j
check "--if-identical" itensor export "$dir/d/store.h5" smooth --if
check "smooth" itensor info "$dir/d/store.h5" sm
check "height relief smooth" itensor rm "$dir/d/store.h5" ""
check "smooth" itensor export --region 0:1,0:1 "$dir/d/store.h5" s
check "$dir/d/store.h5" itensor verify "$dir/d/st"
check "" itensor verify "$dir/d/store.h5" ""
check "" itensor export "$dir/d/store.h5" smooth --region ""
check "" itensor no-such-command --j
echo "$fails failure(s)"
[ "$fails" = 0 ]
