#!/bin/sh
# deps.sh - make sure a Debian machine has what tlsinspect builds and tests with.
# Installs the missing Debian packages with apt-get when run as root; otherwise
# says which command to run.  Used by `make demo` and `make test`.
set -u
# openssl: the command, for the live-capture test (s_server/s_client on lo).
# jq: tests/extract_*.sh compare JSON reports.
# python3 and chromium: the HTML report checks (tests/golden_html.sh, tests/html_render.sh)
PKGS="build-essential pkg-config libpcap-dev libssl-dev zlib1g-dev libjansson-dev libcmocka-dev libarchive-dev openssl jq python3 chromium"
missing=""
# `sh tests/deps.sh fuzz`: also clang and its libFuzzer/sanitizer runtimes.
if [ "${1:-}" = fuzz ]; then
    PKGS="$PKGS clang libclang-rt-14-dev"
    command -v clang >/dev/null 2>&1 || missing="yes"
    ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || missing="yes"
fi
command -v cc >/dev/null 2>&1 || missing="yes"
command -v make >/dev/null 2>&1 || missing="yes"
command -v openssl >/dev/null 2>&1 || missing="yes"
command -v jq >/dev/null 2>&1 || missing="yes"
command -v python3 >/dev/null 2>&1 || missing="yes"
command -v chromium >/dev/null 2>&1 || missing="yes"
if command -v pkg-config >/dev/null 2>&1; then
    for m in libpcap openssl zlib jansson libarchive cmocka; do
        pkg-config --exists "$m" 2>/dev/null || missing="yes"
    done
else
    missing="yes"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing Debian packages: $PKGS"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $PKGS >/dev/null || {
        echo "deps: apt-get install failed" >&2; exit 1; }
    exit 0
fi
echo "deps: missing build dependencies. Install them with:" >&2
echo "  sudo apt-get install $PKGS" >&2
exit 1
