#!/bin/sh
# install.sh - `make install` puts the binary and the man page under
# DESTDIR/PREFIX (default PREFIX /usr/local), `make uninstall` takes them away
# and nothing else.  Staged in a temporary DESTDIR: nothing outside it is touched.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
    what=$1; shift
    "$@" || { echo "FAIL: $what"; fail=$((fail + 1)); }
}

make -s --no-print-directory install DESTDIR="$tmp/stage" > "$tmp/log" 2>&1 ||
    { echo "FAIL: make install DESTDIR=$tmp/stage:"; cat "$tmp/log"; exit 1; }
bin=$tmp/stage/usr/local/bin/tlsinspect
man=$tmp/stage/usr/local/share/man/man1/tlsinspect.1
check "binary installed at PREFIX/bin" test -x "$bin"
check "man page installed at PREFIX/share/man/man1" test -f "$man"
check "installed man page is man/tlsinspect.1" cmp -s "$man" man/tlsinspect.1
check "installed binary runs" sh -c "'$bin' --version | grep -q '^tlsinspect '"
check "man page mode 644" test "$(stat -c %a "$man")" = 644

make -s --no-print-directory install DESTDIR="$tmp/stage" PREFIX=/opt/ti > "$tmp/log" 2>&1 ||
    { echo "FAIL: make install PREFIX=/opt/ti:"; cat "$tmp/log"; exit 1; }
check "PREFIX honoured" test -x "$tmp/stage/opt/ti/bin/tlsinspect"
check "PREFIX honoured for the man page" test -f "$tmp/stage/opt/ti/share/man/man1/tlsinspect.1"

touch "$tmp/stage/usr/local/bin/other"
make -s --no-print-directory uninstall DESTDIR="$tmp/stage" > "$tmp/log" 2>&1 ||
    { echo "FAIL: make uninstall:"; cat "$tmp/log"; exit 1; }
check "uninstall removes the binary" test ! -e "$bin"
check "uninstall removes the man page" test ! -e "$man"
check "uninstall leaves other files" test -e "$tmp/stage/usr/local/bin/other"
check "uninstall leaves the other PREFIX" test -x "$tmp/stage/opt/ti/bin/tlsinspect"

[ "$fail" -eq 0 ] && echo "install: make install/uninstall with DESTDIR and PREFIX: ok"
[ "$fail" -eq 0 ]
