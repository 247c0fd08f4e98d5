#!/usr/bin/env bash
# Runs a libFuzzer target from a committed corpus for a bounded time: every committed input
# first (earlier findings are regressions), then new ones. New inputs go to a scratch copy, so
# the repository's corpus only changes by hand. Usage: run.sh FUZZER CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
# HDF5 keeps library state across inputs and leaks on some failed opens: leaks are not checked.
# An impossible allocation returns NULL, as malloc does outside the sanitizer (HDF5 then fails
# cleanly); feasible but absurd ones still end the run (-malloc_limit_mb).
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:${ASAN_OPTIONS:-}
findings=${FUZZ_FINDINGS:-$PWD/fuzz-findings}
mkdir -p "$findings"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$findings/$(basename "$fuzzer")-" "$work" >"$work/log" 2>&1 || status=$?
tail -40 "$work/log"
[ "$status" = 0 ] || echo "findings kept in $findings"
exit "$status"
