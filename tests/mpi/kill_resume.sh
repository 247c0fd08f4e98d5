#!/usr/bin/env bash
# A worker killed with SIGKILL in the middle of an MPI fill ends the job; the store keeps what
# was flushed, and the same fill run again computes only the missing chunks and equals a
# single-process fill. Then the writer itself is killed 1.3 s after storing its first chunk of
# a slow fill, before a flush by count: it kept what it committed by time (every second), and
# the resume computes only the rest.
# Usage: kill_resume.sh MPIEXEC TEST_MPI_FILL DIR [RANKS]  (2 by default; the writer's kill
# runs with 2 ranks only)
set -uo pipefail
mpiexec=$1 prog=$2 dir=$3 ranks=${4:-2}
if "$mpiexec" -n "$ranks" --oversubscribe "$prog" "$dir" kill >"$dir/kill.log" 2>&1; then
    echo "FAILED: the fill with a killed worker succeeded"; cat "$dir/kill.log"; exit 1
fi
echo "the job ended when rank 1 was killed (as MPI does)"
"$mpiexec" -n "$ranks" --oversubscribe "$prog" "$dir" resume || exit 1
[ "$ranks" = 2 ] || exit 0
# the writer killed 1.3 s after its first chunk: it committed at least every second
if "$mpiexec" -n 2 --oversubscribe "$prog" "$dir" killwriter >"$dir/killwriter.log" 2>&1; then
    echo "FAILED: the fill with a killed writer succeeded"; cat "$dir/killwriter.log"; exit 1
fi
echo "the job ended when the writer was killed"
"$mpiexec" -n 2 --oversubscribe "$prog" "$dir" resumekept
