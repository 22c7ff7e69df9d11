#!/bin/sh
# docs_sync.sh - the options, as src/main.c's getopt table has them, are all
# documented: in `tlsinspect --help`, in README.md and in man/tlsinspect.1.
# Aliases listed in ALIASES need only be in the man page.
set -u
bin=$1
ALIASES="colour"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin" --help > "$tmp/help" || { echo "FAIL: $bin --help exited non-zero"; exit 1; }
sed -e 's/\\f[BIRP]//g' -e 's/\\//g' man/tlsinspect.1 > "$tmp/man"
opts=$(sed -n 's/^ *{"\([a-z-]*\)", *[a-z_]*_argument.*/\1/p' src/main.c)
[ -n "$opts" ] || { echo "FAIL: no options found in src/main.c"; exit 1; }
n=0; fail=0
for o in $opts; do
    n=$((n + 1))
    for doc in help README.md man; do
        case " $ALIASES " in *" $o "*) [ "$doc" = man ] || continue ;; esac
        f=$tmp/$doc; [ "$doc" = README.md ] && f=README.md
        grep -q -- "--$o\\b" "$f" || { echo "FAIL: --$o is not in $doc"; fail=$((fail + 1)); }
    done
done
echo "documented options: $n checked, $fail missing"
[ "$fail" -eq 0 ]
