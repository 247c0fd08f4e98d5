#!/usr/bin/env bash
# A worker killed with SIGKILL in the middle of an MPI fill ends the job; the store keeps what
# was flushed, and the same fill run again computes only the missing chunks and equals a
# single-process fill. Usage: kill_resume.sh MPIEXEC TEST_MPI_FILL DIR
set -uo pipefail
mpiexec=$1 prog=$2 dir=$3
if "$mpiexec" -n 2 --oversubscribe "$prog" "$dir" kill >"$dir/kill.log" 2>&1; then
    echo "FAILED: the fill with a killed worker succeeded"; cat "$dir/kill.log"; exit 1
fi
echo "the job ended when rank 1 was killed (as MPI does)"
"$mpiexec" -n 2 --oversubscribe "$prog" "$dir" resume
