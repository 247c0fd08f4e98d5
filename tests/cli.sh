#!/usr/bin/env bash
# The itensor CLI, run as a user would: every command, every bad-input case, and files that
# stay byte-identical after a failing command. Usage: cli.sh ITENSOR [INTEROP_WRITE] (the
# second writes stores with weighted blends, whose profiles info must show)
set -uo pipefail
it=$1
writer=${2:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# expect STATUS DESCRIPTION -- COMMAND...: exit status and a one-line message on failure
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >"$dir/out" 2>"$dir/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$what: exit $got, expected $want; stderr: $(head -c 300 "$dir/err")"
    elif [ "$want" != 0 ] && [ "$(wc -l <"$dir/err")" != 1 ]; then
        fail "$what: expected one line on stderr, got: $(cat "$dir/err")"
    else
        pass "$what"
    fi
}

# unchanged FILE DESCRIPTION -- COMMAND...: the command fails and FILE keeps its bytes
unchanged() {
    local file=$1 what=$2
    shift 3
    local before after
    before=$(sha256sum "$file" | cut -d' ' -f1)
    "$@" >/dev/null 2>"$dir/err"
    local got=$?
    after=$(sha256sum "$file" | cut -d' ' -f1)
    if [ "$got" = 0 ]; then
        fail "$what: succeeded, expected a failure"
    elif [ "$before" != "$after" ]; then
        fail "$what: $file was modified by a failing command"
    elif [ "$(wc -l <"$dir/err")" != 1 ]; then
        fail "$what: expected a one-line error, got: $(cat "$dir/err")"
    else
        pass "$what ($(head -c 120 "$dir/err"))"
    fi
}

# --- help everywhere
expect 0 "--help" -- "$it" --help
expect 2 "no command" -- "$it"
expect 2 "unknown command" -- "$it" frobnicate
for c in ls info export preview verify rm compact upgrade demo; do
    expect 0 "$c --help" -- "$it" "$c" --help
    grep -q "Usage: itensor $c" "$dir/out" || fail "$c --help prints no usage"
done

# --- the demo builds a store, an export and a preview; a second run computes nothing
expect 0 "demo" -- "$it" demo "$dir/demo"
for f in store.h5 export.h5 preview.png; do
    [ -s "$dir/demo/$f" ] && pass "demo wrote $f" || fail "demo did not write $f"
done
expect 0 "demo again" -- "$it" demo "$dir/demo"
grep -q "computed 0 windows" "$dir/out" && pass "second demo run served from the store" ||
    fail "second demo run recomputed: $(cat "$dir/out")"
# the second export replaced the dataset and shared its coordinate scales again (their object
# headers are longer than HDF5's first read of them)
h5ls "$dir/demo/export.h5" | grep -q "_height" && fail "the second export made new scales: $(h5ls "$dir/demo/export.h5")" ||
    pass "a repeated export shares its scales"
store=$dir/demo/store.h5

# --- inspection
expect 0 "ls" -- "$it" ls "$store"
for t in height smooth relief; do
    grep -q "^$t " "$dir/out" || fail "ls does not list $t"
done
grep -q "120 chunks" "$dir/out" && pass "ls counts stored chunks" || fail "ls chunk count: $(cat "$dir/out")"
expect 0 "info" -- "$it" info "$store" relief
grep -q "map \[1, 2\]" "$dir/out" && grep -q "height" "$dir/out" && pass "info shows args graph" ||
    fail "info output: $(cat "$dir/out")"
grep -q "HDF5 data   /tensors/relief/data" "$dir/out" && grep -q "^origin " "$dir/out" &&
    grep -q "^compression deflate level 1" "$dir/out" && pass "info shows where the data lie" ||
    fail "info layout: $(cat "$dir/out")"
# machine-readable listings: stable keys, a bounding box that --region takes back
expect 0 "ls --json" -- "$it" ls --json "$store"
/usr/bin/python3 - "$dir/out" <<'PY' && pass "ls --json parses, with stable keys" || fail "ls --json: $(cat "$dir/out")"
import json, sys
d = json.load(open(sys.argv[1]))
keys = {"id", "shape", "dtype", "chunk", "stored_chunks", "stored_bytes", "bounding_box",
        "data_path", "origin", "compression", "compression_level"}
assert d["tensors"] and all(set(t) == keys for t in d["tensors"]), d
smooth = [t for t in d["tensors"] if t["id"] == "smooth"][0]
assert smooth["shape"] == [None, None] and smooth["bounding_box"]["region"]
open(sys.argv[1] + ".region", "w").write(smooth["bounding_box"]["region"])
PY
expect 0 "export the bounding box ls printed" -- "$it" export "$store" smooth --region "$(cat "$dir/out.region" 2>/dev/null)" -o "$dir/bbox.h5"
expect 0 "info --json" -- "$it" info "$store" relief --json
/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['args'] and d['data_path'] == '/tensors/relief/data', d" "$dir/out" &&
    pass "info --json parses" || fail "info --json: $(cat "$dir/out")"
expect 0 "ls exact bytes" -- "$it" ls -b "$store"
grep -Eq "[0-9]+ B " "$dir/out" && ! grep -q "iB " "$dir/out" && pass "ls -b prints exact bytes" ||
    fail "ls -b: $(cat "$dir/out")"
expect 0 "ls human bytes" -- "$it" ls "$store"
grep -q "iB " "$dir/out" && pass "ls prints KiB/MiB by default" || fail "ls sizes: $(cat "$dir/out")"
expect 0 "verify" -- "$it" verify "$store"

# --- export and preview
expect 0 "export chunked" -- "$it" export "$store" smooth --region -100:100,-300:300:3 -o "$dir/e.h5"
expect 0 "export contiguous" -- "$it" export "$store" smooth --region 0:64,0:64 -o "$dir/e.h5" --dataset c --contiguous
grep -q "byte offset" "$dir/out" && pass "contiguous export reports its offset" || fail "no offset: $(cat "$dir/out")"
expect 0 "export into a group, level 9" -- "$it" export "$store" relief --region :,0:32,0:32 -o "$dir/e.h5" --dataset g/rgb --level 9
if "$it" export "$store" smooth --region 0:64,0:64 -o "$dir/e.h5" --dataset z --compression lz4 >"$dir/out" 2>&1; then
    h5dump -p -H -d z "$dir/e.h5" | grep -q "FILTER_ID 32004" && pass "an lz4 export declares filter 32004" ||
        fail "no lz4 filter: $(h5dump -p -H -d z "$dir/e.h5")"
elif grep -q "this build has no lz4 codec" "$dir/out"; then
    pass "a build without lz4 refuses it: $(cat "$dir/out")"
else
    fail "export with lz4: $(cat "$dir/out")"
fi
expect 0 "preview gray" -- "$it" preview "$store" smooth --region -256:256,-256:256:2 -o "$dir/p.png"
expect 0 "preview terrain range" -- "$it" preview "$store" smooth --region -256:256,-256:256 -o "$dir/p2.png" --colormap terrain --range -1500:1500
expect 0 "preview rgb" -- "$it" preview "$store" relief --region :,-128:128,-128:128 -o "$dir/p3.png"
expect 0 "preview averaged with a colour bar" -- "$it" preview "$store" smooth --region=-256:256:4,-256:256:4 -o "$dir/p4.png" --colorbar --colormap=viridis
expect 0 "preview sampled" -- "$it" preview "$store" smooth --region -256:256:4,-256:256:4 -o "$dir/p5.png" --sample
grep -aq "infinite-tensor:region" "$dir/p4.png" && pass "the preview records its region" || fail "no text chunk in the preview"
# progress on a terminal (script gives the command one): rate and time
if command -v script >/dev/null; then
    script -qec "'$it' export '$store' smooth --region -256:256,-256:256 -o '$dir/tty.h5'" /dev/null >"$dir/tty" 2>&1 || true
    tr '\r' '\n' <"$dir/tty" | grep -Eq "100% .*B/s +0:[0-9]{2} total" && pass "the progress bar shows rate and time" ||
        fail "progress bar: $(tr '\r' '\n' <"$dir/tty" | tail -3)"
fi
head -c 8 "$dir/p3.png" | od -c | grep -q "P   N   G" && pass "preview is a PNG" || fail "preview is not a PNG"

# --- bad input: one-line error, non-zero exit, files untouched
cp "$store" "$dir/keep.h5"
unchanged "$dir/e.h5" "bad region text" -- "$it" export "$store" smooth --region 0:10,0:x -o "$dir/e.h5"
unchanged "$dir/e.h5" "region with too few items" -- "$it" export "$store" smooth --region 0:10 -o "$dir/e.h5"
unchanged "$dir/e.h5" "':' on an infinite dimension" -- "$it" export "$store" smooth --region :,0:4 -o "$dir/e.h5"
unchanged "$dir/e.h5" "unknown tensor" -- "$it" export "$store" nope --region 0:1,0:1 -o "$dir/e.h5"
unchanged "$dir/e.h5" "missing chunks without --missing-as-fill" -- "$it" export "$store" smooth --region 5000:5010,0:10 -o "$dir/e.h5"
unchanged "$dir/e.h5" "existing dataset" -- "$it" export "$store" smooth --region 0:4,0:4 -o "$dir/e.h5" --dataset c
grep -q -- "--overwrite" "$dir/err" && pass "an existing dataset points at --overwrite" ||
    fail "no --overwrite hint: $(cat "$dir/err")"
# IT_LOG=debug tells what the library decides, on stderr; nothing without it
IT_LOG=debug "$it" export "$store" smooth --region 0:8,0:8 -o "$dir/log.h5" >/dev/null 2>"$dir/log"
grep -q '^infinite-tensor\[[0-9]*\] plan: it_export_hdf5 of "smooth": ' "$dir/log" &&
    grep -q "hdf5: opened .* read-only" "$dir/log" && pass "IT_LOG=debug logs the plan and the store" ||
    fail "IT_LOG=debug: $(cat "$dir/log")"
"$it" export "$store" smooth --region 0:8,0:8 -o "$dir/log.h5" --overwrite >/dev/null 2>"$dir/log"
[ ! -s "$dir/log" ] && pass "no log without IT_LOG" || fail "stderr without IT_LOG: $(cat "$dir/log")"
# reruns: --if-identical succeeds over the same export without writing, refuses another
expect 0 "export before a rerun" -- "$it" export "$store" smooth --region 0:40,0:40 -o "$dir/rerun.h5"
stamp=$(stat -c '%i %Y %s' "$dir/rerun.h5")
expect 0 "the same export again with --if-identical" -- "$it" export "$store" smooth --region 0:40,0:40 -o "$dir/rerun.h5" --if-identical
[ "$(stat -c '%i %Y %s' "$dir/rerun.h5")" = "$stamp" ] && pass "--if-identical wrote nothing" || fail "--if-identical rewrote the file"
unchanged "$dir/rerun.h5" "--if-identical over another region" -- "$it" export "$store" smooth --region 1:41,0:40 -o "$dir/rerun.h5" --if-identical
grep -q "of another region" "$dir/err" && pass "--if-identical names the difference" || fail "--if-identical: $(cat "$dir/err")"
# CF labels
expect 0 "export with CF labels" -- "$it" export "$store" smooth --region 0:8,0:8 -o "$dir/cf.h5" --units m --long-name "smoothed height" --dim-names northing,easting --coord-units m
h5dump -A "$dir/cf.h5" >"$dir/cf.txt"
for want in '"CF-1.8"' '"smoothed height"' 'DATASET "northing"' 'DATASET "easting"'; do
    grep -qF "$want" "$dir/cf.txt" && pass "the CF export has $want" || fail "no $want in: $(head -c 600 "$dir/cf.txt")"
done
expect 2 "--dim-names of another rank" -- "$it" export "$store" smooth --region 0:8,0:8 -o "$dir/cf2.h5" --dim-names a,b,c
expect 2 "--fill-value that is not a number" -- "$it" export "$store" smooth --region 0:8,0:8 -o "$dir/cf2.h5" --fill-value x
unchanged "$dir/e.h5" "a region outside a finite dimension" -- "$it" export "$store" relief --region 0:4,0:4,0:4 -o "$dir/e.h5"
grep -q "it_[a-z_]*:" "$dir/err" && fail "a message names a library function: $(cat "$dir/err")" ||
    pass "messages name no library function"
unchanged "$dir/e.h5" "bad level" -- "$it" export "$store" smooth --region 0:4,0:4 -o "$dir/e.h5" --level 12
unchanged "$dir/e.h5" "unknown codec" -- "$it" export "$store" smooth --region 0:4,0:4 -o "$dir/e.h5" --compression gzip
unchanged "$dir/e.h5" "not our file" -- "$it" export "$dir/e.h5" smooth --region 0:4,0:4 -o "$dir/x.h5"
unchanged "$store" "export to a non-HDF5 output" -- "$it" export "$store" smooth --region 0:4,0:4 -o "$dir/p.png"
unchanged "$dir/p.png" "preview of a 3-D non-RGB region" -- "$it" preview "$store" relief --region 0:2,0:8,0:8 -o "$dir/p.png"
unchanged "$dir/p.png" "preview bad range" -- "$it" preview "$store" smooth --region 0:8,0:8 -o "$dir/p.png" --range 5:1
unchanged "$dir/p.png" "preview bad colormap" -- "$it" preview "$store" smooth --region 0:8,0:8 -o "$dir/p.png" --colormap rainbow
unchanged "$store" "rm unknown tensor" -- "$it" rm "$store" nope
unchanged "$store" "rm a tensor that others read" -- "$it" rm "$store" height
grep -q "argument of smooth" "$dir/err" && pass "rm names the dependants" || fail "rm refusal: $(cat "$dir/err")"
unchanged "$store" "rm with a bad option" -- "$it" rm "$store" height --forse
unchanged "$store" "info unknown tensor" -- "$it" info "$store" nope
head -c 5000 /dev/urandom >"$dir/junk.h5"
unchanged "$dir/junk.h5" "ls random bytes" -- "$it" ls "$dir/junk.h5"
unchanged "$dir/junk.h5" "verify random bytes" -- "$it" verify "$dir/junk.h5"
cp "$(dirname "$0")/data/hostile-ohdr.h5" "$dir/hostile.h5" # an attribute claiming more than its message
unchanged "$dir/hostile.h5" "ls a crafted file" -- "$it" ls "$dir/hostile.h5"
unchanged "$dir/hostile.h5" "verify a crafted file" -- "$it" verify "$dir/hostile.h5"
# a chunk B-tree key claiming a chunk of 0 bytes (an HDF5 built with assertions aborts on it)
cp "$(dirname "$0")/fuzz/corpus/store_open/regress-btree-zero-key" "$dir/zero-key.h5"
expect 1 "verify a store whose chunk B-tree claims an empty chunk" -- "$it" verify "$dir/zero-key.h5"
grep -q "a chunk B-tree key declares a chunk of 0 bytes" "$dir/out" && pass "verify names the empty chunk key" ||
    fail "verify of the empty chunk key: $(cat "$dir/out" "$dir/err")"
head -c 3000 "$store" >"$dir/trunc.h5"
unchanged "$dir/trunc.h5" "verify a truncated store" -- "$it" verify "$dir/trunc.h5"
expect 1 "missing file" -- "$it" ls "$dir/none.h5"
[ ! -e "$dir/none.h5" ] && pass "a missing file is not created" || fail "ls created a file"
expect 0 "export with --missing-as-fill" -- "$it" export "$store" smooth --region=5000:5010,0:10 -o "$dir/e.h5" --dataset=filled --missing-as-fill
cmp -s "$store" "$dir/keep.h5" && pass "read-only commands left the store untouched" || fail "store changed"

# --- a full disk: export and a new store fail with one line, no crash at exit, nothing left
if [ "$(id -u)" = 0 ] && mkdir -p "$dir/full" && mount -t tmpfs -o size=64k tmpfs "$dir/full" 2>/dev/null; then
    expect 1 "export onto a full disk" -- "$it" export "$store" smooth --region -512:512,-512:512 -o "$dir/full/e.h5" --level -1
    grep -q "No space left" "$dir/err" && pass "the error names the full disk" || fail "full disk: $(cat "$dir/err")"
    [ -z "$(ls -A "$dir/full")" ] && pass "a failed export leaves nothing on the disk" ||
        fail "left on the full disk: $(ls "$dir/full")"
    expect 1 "demo into a full disk" -- "$it" demo "$dir/full/demo"
    umount "$dir/full"
else
    echo "SKIPPED full-disk checks: mounting a tmpfs needs root"
fi

# --- verify finds a corrupted chunk
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
    cp "$store" "$dir/bad.h5"
    /usr/bin/python3 - "$dir/bad.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    infos = [f[f"tensors/{t}/data"].id.get_chunk_info(k) for t in ("smooth", "height") for k in (3, 5)]
with open(sys.argv[1], "r+b") as raw:
    for info in infos:
        raw.seek(info.byte_offset + info.size // 2)
        raw.write(b"\x00" * 64)
PY
    expect 1 "verify detects a corrupted chunk" -- "$it" verify "$dir/bad.h5"
    grep -q "BAD" "$dir/out" && pass "verify names the bad chunk" || fail "verify output: $(cat "$dir/out")"
    "$it" verify --json "$dir/bad.h5" >"$dir/out" 2>/dev/null
    /usr/bin/python3 -c 'import json,sys; d = json.load(sys.stdin); bad = {t["id"]: len(t["bad_chunks"]) for t in d["tensors"]}; assert bad == {"height": 2, "smooth": 2, "relief": 0}, bad; assert d["tensors_with_problems"] == 2' <"$dir/out" &&
        pass "verify --json lists each tensor's bad chunks" || fail "verify --json of bad chunks: $(head -c 600 "$dir/out")"
    # one tensor's metadata damaged: ls lists the others and names it on stderr
    cp "$store" "$dir/broken.h5"
    /usr/bin/python3 -c "import sys, h5py; del h5py.File(sys.argv[1], 'r+')['tensors/smooth'].attrs['window_size']" "$dir/broken.h5"
    expect 1 "ls with one unreadable tensor" -- "$it" ls "$dir/broken.h5"
    grep -q "smooth" "$dir/err" && grep -q "^height " "$dir/out" && grep -q "^relief " "$dir/out" &&
        pass "ls lists the readable tensors and names the broken one" || fail "ls: $(cat "$dir/out" "$dir/err")"
    # chunk index rows that name no stored chunk (one in range, one far outside it)
    cp "$store" "$dir/index.h5"
    /usr/bin/python3 - "$dir/index.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    idx = f["tensors/height/chunks"]
    n = idx.shape[0]
    idx.resize((n + 2, idx.shape[1]))
    idx[n] = [40, 40]
    idx[n + 1] = [2**62, -2**62]
PY
    expect 1 "verify finds index rows without chunks" -- "$it" verify "$dir/index.h5"
    grep -q "index rows without a chunk" "$dir/out" && pass "verify cross-checks the index with the B-tree" ||
        fail "verify output: $(cat "$dir/out")"
    expect 0 "ls with stale index rows" -- "$it" ls "$dir/index.h5"
    # exports into a file of h5py whose global heap is larger than HDF5's first read of it
    /usr/bin/python3 -c "import sys, h5py; h5py.File(sys.argv[1], 'w').create_dataset('names', data=['name %d' % i for i in range(3000)], dtype=h5py.string_dtype())" "$dir/heap.h5"
    expect 0 "export into a file with a large global heap" -- "$it" export "$store" smooth --region 0:16,0:16 -o "$dir/heap.h5"
    expect 0 "and again, replacing it" -- "$it" export "$store" smooth --region 0:16,0:16 -o "$dir/heap.h5" --dataset smooth2
    /usr/bin/python3 -c "import sys, h5py; f = h5py.File(sys.argv[1], 'r'); assert f['names'][2999] == b'name 2999', f['names'][2999]" "$dir/heap.h5" &&
        pass "the file's own data are intact" || fail "the exports changed the file's data"
else
    echo "SKIPPED corrupted-chunk check: /usr/bin/python3 has no h5py"
fi

# --- upgrade of a format-1 store (infinite-tensor 0.1)
v1=$(dirname "$0")/data/store-v1.h5
cp "$v1" "$dir/v1.h5"
unchanged "$dir/v1.h5" "ls refuses a format-1 store" -- "$it" ls "$dir/v1.h5"
grep -q "itensor upgrade" "$dir/err" && pass "the refusal names the upgrade" || fail "refusal: $(cat "$dir/err")"
expect 0 "upgrade" -- "$it" upgrade "$dir/v1.h5"
expect 0 "verify after upgrade" -- "$it" verify "$dir/v1.h5"
expect 0 "upgrade again" -- "$it" upgrade "$dir/v1.h5"
grep -q "already" "$dir/out" && pass "a current store is left as it is" || fail "upgrade again: $(cat "$dir/out")"
# the conversion runs in a child process with limits: over them, the store is left as it was
cp "$v1" "$dir/v1.h5"
"$it" upgrade "$dir/v1.h5" --limit-memory 1000000 >"$dir/out" 2>"$dir/err"
got=$?
if grep -q "memory limit is not applied" "$dir/err"; then
    [ $got = 0 ] && pass "limits: a sanitizer build converts without a memory limit" ||
        fail "limits (sanitizer build): exit $got: $(cat "$dir/err")"
elif [ $got != 0 ] && cmp -s "$v1" "$dir/v1.h5" && ! ls "$dir"/v1.h5.convert-* >/dev/null 2>&1; then
    pass "limits: a conversion past its memory limit fails and leaves the store and no copy"
else
    fail "limits: exit $got, store $(cmp -s "$v1" "$dir/v1.h5" && echo unchanged || echo changed): $(cat "$dir/err")"
fi
expect 2 "limits must be positive" -- "$it" upgrade "$dir/v1.h5" --limit-seconds 0
# --- upgrade of a format-2 store (infinite-tensor 0.2): a store header in front
cp "$(dirname "$0")/data/hdf5/1.10.8/compressed.h5" "$dir/v2.h5"
expect 0 "upgrade of format 2" -- "$it" upgrade "$dir/v2.h5"
[ "$(head -c 8 "$dir/v2.h5")" = ITSTORE1 ] && pass "format 2 upgraded: the store header is there" ||
    fail "format 2 upgrade: no store header"
expect 0 "verify after the format-2 upgrade" -- "$it" verify "$dir/v2.h5"

# --- the weighted blend's profile
if [ -n "$writer" ]; then
    "$writer" "$dir" >/dev/null
    expect 0 "info of a feathered tensor" -- "$it" info "$dir/raw.h5" feather_tent
    grep -q "^blend       weighted" "$dir/out" && grep -q "^weights     tent, border \[4, 4\], floor 0" "$dir/out" &&
        pass "info shows the weight profile" || fail "info weights: $(cat "$dir/out")"
    expect 0 "info of an array profile" -- "$it" info "$dir/raw.h5" feather_array
    grep -q "^weights     array, sha256 [0-9a-f]\{64\}, floor 0.05" "$dir/out" &&
        pass "info shows the array's digest" || fail "info array weights: $(cat "$dir/out")"
    expect 0 "info --json of a feathered tensor" -- "$it" info "$dir/raw.h5" feather_array --json
    /usr/bin/python3 -c 'import json,sys; w=json.load(sys.stdin)["weight"]; assert w["profile"]=="array" and len(w["array_sha256"])==64 and w["floor"]==0.05, w' <"$dir/out" &&
        pass "info --json has the weight profile" || fail "info --json weights: $(cat "$dir/out")"
    expect 0 "info --json without weights" -- "$it" info "$dir/raw.h5" g2 --json
    /usr/bin/python3 -c 'import json,sys; assert json.load(sys.stdin)["weight"] is None' <"$dir/out" &&
        pass "weight is null for other blends" || fail "info --json g2: $(cat "$dir/out")"
fi

# --- rm
expect 0 "rm" -- "$it" rm "$store" relief
cp "$store" "$dir/force.h5"
expect 0 "rm --force (before the arguments) of a tensor others read" -- "$it" rm --force "$dir/force.h5" height
expect 0 "ls after rm" -- "$it" ls "$store"
grep -q "^relief " "$dir/out" && fail "relief still listed" || pass "rm removed relief"
expect 0 "verify after rm" -- "$it" verify "$store"
grep -q "itensor compact" <<<"$(cd "$dir" && "$it" rm "$dir/force.h5" smooth --force)" &&
    pass "rm says how to reclaim the space" || fail "rm gives no compact hint"

# --- --json on every command: one JSON document on stdout
json_ok() { /usr/bin/python3 -c 'import json,sys; d = json.load(sys.stdin); '"$1" <"$dir/out"; }
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    expect 0 "verify --json" -- "$it" verify --json "$store"
    json_ok 'assert d["tensors_with_problems"] == 0 and {t["id"] for t in d["tensors"]} == {"height", "smooth"} and all(t["ok"] and t["index"]["chunks_stored"] == t["chunks"] for t in d["tensors"])' &&
        pass "verify --json lists every tensor" || fail "verify --json: $(head -c 300 "$dir/out")"
    expect 0 "export --json" -- "$it" export "$store" smooth --region 0:8,0:8 -o "$dir/j.h5" --json --contiguous
    json_ok 'assert d["shape"] == [8, 8] and d["data_bytes"] == 256 and d["data_offset"] > 0' &&
        pass "export --json" || fail "export --json: $(cat "$dir/out")"
    expect 0 "preview --json" -- "$it" preview "$store" smooth --region 0:8,0:8 -o "$dir/j.png" --json
    json_ok 'assert d["file"].endswith("j.png") and d["tensor"] == "smooth"' && pass "preview --json" ||
        fail "preview --json: $(cat "$dir/out")"
    expect 0 "upgrade --json" -- "$it" upgrade --json "$store"
    json_ok 'assert d["upgraded"] is False' && pass "upgrade --json" || fail "upgrade --json: $(cat "$dir/out")"
    cp "$store" "$dir/rm.h5"
    expect 0 "rm --json" -- "$it" rm --json "$dir/rm.h5" smooth
    json_ok 'assert d["removed"] == "smooth" and d["file_bytes"] > 0' && pass "rm --json" ||
        fail "rm --json: $(cat "$dir/out")"
    expect 0 "compact --json" -- "$it" compact --json "$dir/rm.h5"
    json_ok 'assert d["tensors"] == 1 and d["bytes_after"] < d["bytes_before"]' &&
        pass "compact --json: the space of smooth is reclaimed" || fail "compact --json: $(cat "$dir/out")"
    expect 0 "demo --json" -- "$it" demo --json "$dir/demo"
    json_ok 'assert d["windows_computed"] >= 0 and d["preview"].endswith("preview.png")' && pass "demo --json" || fail "demo --json: $(cat "$dir/out")"
fi

# --- compact: the store keeps its tensors and values, a failure leaves it as it was
"$it" export "$store" smooth --region -300:300,-300:300 -o "$dir/before.h5" >/dev/null
expect 0 "compact" -- "$it" compact "$store"
grep -q "compacted" "$dir/out" && pass "compact reports the sizes" || fail "compact: $(cat "$dir/out")"
expect 0 "verify after compact" -- "$it" verify "$store"
expect 0 "the same values after compact" -- "$it" export "$store" smooth --region -300:300,-300:300 -o "$dir/before.h5" --if-identical
ls "$dir"/store.h5.compact-* >/dev/null 2>&1 && fail "compact left a temporary file" || pass "compact left nothing beside the store"
unchanged "$dir/j.png" "compact of a file that is not a store" -- "$it" compact "$dir/j.png"
grep -q "it_[a-z_]*:" "$dir/err" && fail "compact's message names a library function: $(cat "$dir/err")" ||
    pass "compact's message names no library function"
# killed at any moment, compaction leaves the store whole: the old one or the compacted one
for delay in 0.005 0.02 0.05; do
    cp "$store" "$dir/killed.h5"
    "$it" compact "$dir/killed.h5" >/dev/null 2>&1 &
    sleep $delay
    kill -9 $! 2>/dev/null
    wait $! 2>/dev/null
    "$it" verify "$dir/killed.h5" >/dev/null 2>&1 &&
        "$it" export "$dir/killed.h5" smooth --region -300:300,-300:300 -o "$dir/before.h5" --if-identical >/dev/null 2>&1 &&
        pass "compact killed after ${delay}s: the store verifies, the same values" ||
        fail "compact killed after ${delay}s: $("$it" verify "$dir/killed.h5" 2>&1 | tail -2)"
    rm -f "$dir"/killed.h5.compact-*
done
if [ "$(id -u)" = 0 ] && mkdir -p "$dir/small" && cp "$store" "$dir/small.h5" &&
    mount -t tmpfs -o size=$(( $(stat -c %s "$store") * 3 / 2 ))  tmpfs "$dir/small" 2>/dev/null; then
    cp "$store" "$dir/small/store.h5"
    dd if=/dev/zero of="$dir/small/fill" bs=4096 count=$(( $(stat -c %s "$store") / 4096 / 2 )) 2>/dev/null
    unchanged "$dir/small/store.h5" "compact on a disk without room for the copy" -- "$it" compact "$dir/small/store.h5"
    [ "$(ls "$dir/small")" = "$(printf 'fill\nstore.h5')" ] && pass "a failed compact leaves no temporary file" ||
        fail "left after a failed compact: $(ls "$dir/small")"
    expect 0 "the store still verifies" -- "$it" verify "$dir/small/store.h5"
    umount "$dir/small"
fi

echo "$fails failure(s)"
[ "$fails" = 0 ]
