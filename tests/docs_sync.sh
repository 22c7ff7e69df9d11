#!/bin/sh
# docs_sync.sh - the options are declared once (src/opts.c) and every document
# says what that table says:
#   - man/tlsinspect.1's OPTIONS section and README.md's option table are
#     what the table makes (tools/docs.sh --check; `make docs` rewrites them);
#   - `tlsinspect --help` lists every option, and the man page names every
#     alias (--colour).
# (getopt's tables are built from the same table, so what is documented is parsed.)
#
#   sh tests/docs_sync.sh TLSINSPECT OPTDOCS
set -u
bin=$1
optdocs=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0

sh tools/docs.sh "$optdocs" --check || fail=$((fail + 1))

"$bin" --help > "$tmp/help" || { echo "FAIL: $bin --help exited non-zero"; exit 1; }
sed -e 's/\\f[BIRP]//g' -e 's/\\//g' man/tlsinspect.1 > "$tmp/man"
"$optdocs" names > "$tmp/names" || { echo "FAIL: $optdocs names"; exit 1; }
n=0
while read -r o alias; do
    n=$((n + 1))
    if [ -n "$alias" ]; then
        grep -q -- "--$o\\b" "$tmp/man" || { echo "FAIL: alias --$o is not in the man page"; fail=$((fail + 1)); }
    else
        grep -q -- "--$o\\b" "$tmp/help" || { echo "FAIL: --$o is not in --help"; fail=$((fail + 1)); }
    fi
done < "$tmp/names"
[ "$n" -gt 10 ] || { echo "FAIL: only $n options from $optdocs names"; fail=$((fail + 1)); }
echo "documented options: $n checked, $fail problems"
[ "$fail" -eq 0 ]
