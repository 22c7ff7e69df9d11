#!/bin/sh
# func_length.sh - no function in src/ longer than MAX lines (from the first
# line of its signature to its closing brace).  Functions are found by the
# project's layout (DESIGN.md): the signature starts at column 0, the body's
# braces stand alone at column 0.
#
#   sh tests/func_length.sh [MAX]          (make check runs it)
#
# EXCLUDE: files not checked (none; space-separated paths such as
# "src/x.c" while a file is being split).
set -u
max=${1:-120}
EXCLUDE=""

files=
for f in src/*.c; do
    case " $EXCLUDE " in *" $f "*) continue ;; esac
    files="$files $f"
done
# shellcheck disable=SC2086
out=$(awk -v max="$max" '
    FNR == 1 { sig = ""; infn = 0 }
    /^[A-Za-z_].*\(/ && !/;[ \t]*$/ && !infn { sig = $0; sigline = FNR }
    /^\{/ && sig != "" { start = sigline; name = sig; infn = 1 }
    /^\}/ && infn {
        n = FNR - start + 1
        if (n > max) printf "%s:%d: %d lines: %s\n", FILENAME, start, n, name
        infn = 0; sig = ""; checked++
    }
    END { printf "#checked %d\n", checked }
' $files)
long=$(printf '%s\n' "$out" | grep -v '^#checked')
checked=$(printf '%s\n' "$out" | sed -n 's/^#checked //p')
[ -n "$EXCLUDE" ] && echo "func_length: not checked yet: $EXCLUDE"
if [ "${checked:-0}" -lt 100 ]; then
    echo "FAIL: func_length found only ${checked:-0} functions in src/: the pattern no longer fits"
    exit 1
fi
if [ -n "$long" ]; then
    printf 'FAIL: functions over %s lines:\n%s\n' "$max" "$long"
    exit 1
fi
echo "function length: $checked functions in src/, none over $max lines"
