#!/usr/bin/env bash
# The man pages help2man made from the tool's --help texts: one per command and itensor(1),
# each with its name, synopsis and options, rendered by man when it is installed.
# Usage: man_pages.sh MAN_DIR COMMAND...
set -uo pipefail
dir=$1
shift
fails=0
for page in itensor "${@/#/itensor-}"; do
    f="$dir/$page.1"
    upper=$(tr a-z A-Z <<<"$page")
    if [ ! -s "$f" ]; then
        echo "FAIL $f is missing"; fails=$((fails + 1)); continue
    fi
    grep -q "^\.TH $upper \"1\"" "$f" && grep -q '^\.SH SYNOPSIS' "$f" && grep -q '^\.SH "SEE ALSO"' "$f" &&
        echo "ok   $page.1: title, synopsis, see also" || { echo "FAIL $page.1: $(head -c 400 "$f")"; fails=$((fails + 1)); }
done
grep -q 'if\\-identical' "$dir/itensor-export.1" && echo "ok   itensor-export.1 lists --if-identical" ||
    { echo "FAIL itensor-export.1 lacks --if-identical"; fails=$((fails + 1)); }
if command -v man >/dev/null; then
    out=$(MANWIDTH=80 man -l "$dir/itensor-compact.1" 2>&1)
    grep -q "itensor-compact - reclaim the space" <<<"$out" && echo "ok   man renders itensor-compact(1)" ||
        { echo "FAIL man -l: $out"; fails=$((fails + 1)); }
else
    echo "SKIPPED rendering: man is not installed"
fi
echo "$fails failure(s)"
[ "$fails" = 0 ]
