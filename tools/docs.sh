#!/bin/sh
# docs.sh - the option documents, made from the option table (src/opts.c):
# rewrites the OPTIONS section of man/tlsinspect.1 (from ".SH OPTIONS" to the
# next ".SH") and the README table between <!-- options:begin --> and
# <!-- options:end -->.
#
#   sh tools/docs.sh OPTDOCS [--check]      (make docs; tests/docs_sync.sh checks)
#
# With --check nothing is written: exit status 1 and a diff when a document
# is not what the table makes.
set -eu
optdocs=$1
check=${2:-}
man=man/tlsinspect.1
readme=README.md
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$optdocs" man > "$tmp/man.opts"
"$optdocs" readme > "$tmp/readme.opts"

# splice FILE START END BLOCK KEEP > OUT: the lines from the one matching the
# pattern START up to (not including) the one matching END replaced by the
# file BLOCK; KEEP 1 keeps the START line itself (the README's marker).
splice() {
    awk -v start="$2" -v end="$3" -v block="$4" -v keep="$5" '
        BEGIN { state = 0 }
        state == 0 && $0 ~ start {
            if (keep) print
            while ((getline l < block) > 0) print l
            state = 1; next
        }
        state == 1 && $0 ~ end { state = 2 }
        state == 1 { next }
        { print }
        END { if (state != 2) { print "docs.sh: markers not found: " start " .. " end > "/dev/stderr"; exit 1 } }
    ' "$1"
}

splice "$man" '^\.SH OPTIONS$' '^\.SH ' "$tmp/man.opts" 0 > "$tmp/man"
splice "$readme" '^<!-- options:begin -->$' '^<!-- options:end -->$' "$tmp/readme.opts" 1 > "$tmp/readme"

status=0
for f in man:"$man" readme:"$readme"; do
    new=$tmp/${f%%:*}; old=${f#*:}
    if cmp -s "$new" "$old"; then
        continue
    elif [ "$check" = --check ]; then
        echo "FAIL: $old is out of date with src/opts.c (run 'make docs'):"
        diff -u "$old" "$new" | head -40
        status=1
    else
        cp "$new" "$old"
        echo "docs.sh: rewrote the options in $old"
    fi
done
exit $status
