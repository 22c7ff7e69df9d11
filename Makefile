# tlsinspect - explain failed TLS handshakes in tcpdump captures.
#
#   make            build ./tlsinspect
#   make demo       install build dependencies if missing, run on a bundled capture
#   make test       install dependencies if missing, build, run every test
#   make asan       the unit and golden tests under AddressSanitizer + UBSan
#   make captures   regenerate the fixtures in captures/ (then: make update-golden)
#   make update-golden   rewrite captures/*.expected.json (and the HTML pages) from the current build
#   make docs       rewrite the option docs (man OPTIONS, README table) from src/opts.c
#   make install    install binary and man page under PREFIX (/usr/local), DESTDIR honoured
#   make uninstall  remove them
#   make bench      performance benchmark (see docs/PERFORMANCE.md)
#   make bench-ir   instruction counts of the same under callgrind (valgrind)

VERSION    := 0.1.0
CC         ?= cc
PKGS       := libpcap openssl zlib jansson libarchive
TEST_PKGS  := cmocka
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS_PKG := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS_PKG   := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

# Link-time optimisation: the per-packet path crosses capture.c, decode.c,
# flow.c, reasm.c, analyze.c and the TLS engine's files, and the report's
# values cross into jsonw.c; inlining across them pays, and keeps the split
# into files free (figures in docs/PERFORMANCE.md; check with make bench-ir).
# The link lines use ALL_CFLAGS, so they get -flto too.
OPT        ?= -O2 -flto=auto
CFLAGS     ?= $(OPT) -g
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wformat=2 -Wvla -Wno-unused-parameter
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DTLSINSPECT_VERSION='"$(VERSION)"' -Iinclude -pthread \
              $(WARN) $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS     := $(PKG_LIBS) $(EXTRA_LDFLAGS)

BUILD      ?= build
SRCS       := $(sort $(wildcard src/*.c))
OBJS       := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS    := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
HDRS       := $(wildcard include/tlsinspect/*.h src/*.h)

TEST_SRCS  := $(sort $(wildcard tests/test_*.c))
TEST_BINS  := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(wildcard tests/support/*.c)
TEST_SUPPORT_H := $(wildcard tests/support/*.h)
GEN_SRCS   := $(sort $(wildcard tests/gen/*.c))

.PHONY: all deps demo test check unit golden html smoke extract-test conformance asan asan-run \
        tsan tsan-run captures update-golden docs install uninstall bench bench-ir fuzz clean

all: tlsinspect

tlsinspect: $(OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJS) $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(LIBOBJS) $(TEST_SUPPORT) $(TEST_SUPPORT_H) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS_PKG) -Itests -o $@ $< $(TEST_SUPPORT) $(LIBOBJS) \
	    $(LDLIBS) $(TEST_LIBS_PKG)

$(BUILD)/optdocs: tools/optdocs.c $(LIBOBJS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

$(BUILD)/gen: $(GEN_SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $(GEN_SRCS) $(LDLIBS)

# ---- set-up: install what a fresh Debian machine lacks ----------------------
deps:
	@sh tests/deps.sh

demo: deps
	@$(MAKE) --no-print-directory tlsinspect
	./tlsinspect --cafile captures/pki/expressway-trust.pem captures/post-upgrade.pcap; \
	  rc=$$?; echo "(exit status $$rc: 1 means findings at error level)"; [ $$rc -le 1 ]

# ---- tests ---------------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory check

check: tlsinspect unit golden html smoke extract-test

unit: $(TEST_BINS)
	@sh tests/run_unit.sh $(TEST_BINS)

golden: tlsinspect
	@sh tests/golden.sh ./tlsinspect
	@sh tests/golden_diff.sh ./tlsinspect

# -f html: golden pages, HTML checks, size, and a headless Chromium render
html: tlsinspect $(BUILD)/gen
	@sh tests/golden_html.sh ./tlsinspect $(BUILD)/gen
	@sh tests/html_render.sh ./tlsinspect

smoke: tlsinspect $(BUILD)/optdocs $(BUILD)/tests/shared_check
	@sh tests/docs_sync.sh ./tlsinspect $(BUILD)/optdocs
	@sh tests/func_length.sh
	@sh tests/install.sh
	@sh tests/shared_smoke.sh ./tlsinspect $(BUILD)/tests/shared_check
	@sh tests/bundle.sh ./tlsinspect
	@sh tests/cli_output.sh ./tlsinspect
	@sh tests/stdin_live.sh ./tlsinspect

# -w: the extract of every fixture reports the same; bulk data is dropped.
extract-test: tlsinspect $(BUILD)/gen
	@sh tests/extract_equal.sh ./tlsinspect
	@sh tests/extract_cli.sh ./tlsinspect $(BUILD)/gen

conformance: $(BUILD)/tests/test_conformance
	$(BUILD)/tests/test_conformance

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" TLSINSPECT_BIN=build-asan/tlsinspect \
	  asan-run

asan-run: $(TEST_BINS) $(OBJS) $(BUILD)/tests/shared_check $(BUILD)/gen
	$(CC) $(ALL_CFLAGS) -o $(BUILD)/tlsinspect $(OBJS) $(LDLIBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/run_unit.sh $(TEST_BINS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/golden.sh $(BUILD)/tlsinspect
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/golden_diff.sh $(BUILD)/tlsinspect
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/golden_html.sh $(BUILD)/tlsinspect $(BUILD)/gen
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/shared_smoke.sh $(BUILD)/tlsinspect $(BUILD)/tests/shared_check
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/bundle.sh $(BUILD)/tlsinspect
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/stdin_live.sh $(BUILD)/tlsinspect

# ThreadSanitizer over what runs a second thread (the JSON report's writer,
# src/outq.c): its unit tests, the writer's and the report's, and every golden report.
TSAN_TESTS := $(BUILD)/tests/test_outq $(BUILD)/tests/test_jsonw $(BUILD)/tests/test_report
tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=thread" tsan-run

tsan-run: $(TSAN_TESTS) $(OBJS)
	$(CC) $(ALL_CFLAGS) -o $(BUILD)/tlsinspect $(OBJS) $(LDLIBS)
	@TSAN_OPTIONS=halt_on_error=1 sh tests/run_unit.sh $(TSAN_TESTS)
	@TSAN_OPTIONS=halt_on_error=1 sh tests/golden.sh $(BUILD)/tlsinspect

captures: $(BUILD)/gen
	sh tests/gen/make_captures.sh $(BUILD)/gen

docs: $(BUILD)/optdocs
	@sh tools/docs.sh $(BUILD)/optdocs

update-golden: tlsinspect $(BUILD)/gen
	@sh tests/golden.sh ./tlsinspect --update
	@sh tests/golden_diff.sh ./tlsinspect --update
	@sh tests/golden_html.sh ./tlsinspect $(BUILD)/gen --update
	@sh tests/html_render.sh ./tlsinspect --update

# ---- benchmark (tests/bench/bench.sh): make bench [BENCH_GB=4] [BENCH_RUNS=9] ----
# [BENCH_WORKLOADS="1g dense"] [BENCH_DENSE_RUNS=3] [BENCH_DENSE_3M=0]
$(BUILD)/bench/pcap_pass: tests/bench/pcap_pass.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDLIBS)

bench: tlsinspect $(BUILD)/gen $(BUILD)/bench/pcap_pass
	$(CC) $(ALL_CFLAGS) -o $(BUILD)/bench/runstat tests/bench/runstat.c
	@BENCH_WORKLOADS="$(BENCH_WORKLOADS)" BENCH_DENSE_RUNS="$(BENCH_DENSE_RUNS)" \
	    BENCH_DENSE_3M="$(BENCH_DENSE_3M)" \
	    sh tests/bench/bench.sh $(BUILD) $(or $(BENCH_GB),1) $(or $(BENCH_RUNS),9)

# Instruction counts under callgrind (tests/bench/bench_ir.sh): steady where
# the VM's clock is not.  make bench-ir [BENCH_IR_MB=100] [BENCH_IR_DENSE=20000]
bench-ir: tlsinspect $(BUILD)/gen $(BUILD)/bench/pcap_pass
	@BENCH_IR_DENSE="$(BENCH_IR_DENSE)" sh tests/bench/bench_ir.sh $(BUILD) $(or $(BENCH_IR_MB),100)

# ---- install: make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage] ------------
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
INSTALL    ?= install

install: tlsinspect
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1"
	$(INSTALL) -m 755 tlsinspect "$(DESTDIR)$(BINDIR)/tlsinspect"
	$(INSTALL) -m 644 man/tlsinspect.1 "$(DESTDIR)$(MANDIR)/man1/tlsinspect.1"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/tlsinspect" "$(DESTDIR)$(MANDIR)/man1/tlsinspect.1"

clean:
	rm -rf build build-asan build-tsan build-fuzz tlsinspect

# ---- fuzzing: libFuzzer harnesses in tests/fuzz/ (clang; ASan + UBSan) --------
#   make fuzz        each harness for FUZZ_SECONDS (default 60) over the seeds,
#                    or FUZZ_RUNS executions (make fuzz FUZZ_NAMES=pipeline FUZZ_RUNS=10000000)
#   make fuzz-ci     each harness for about 30 s (CI)
#   build-fuzz/replay_<h> FILE|DIR...   replay inputs without libFuzzer
# The regression corpus tests/fuzz/regress/<h>/ is replayed by `make unit`
# (tests/test_fuzz_regress.c).
FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
# FUZZ_RUNS (unset): when set, each harness runs that many executions instead
FUZZ_CI_SECONDS ?= 30
FUZZ_NAMES      := tls decode x509 pipeline tslog infer
FUZZ_SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS     := -std=c11 -D_GNU_SOURCE -DTLSINSPECT_VERSION='"$(VERSION)"' -Iinclude -pthread \
                   $(WARN) $(PKG_CFLAGS) -O1 -g $(FUZZ_SAN)
FUZZ_OBJS       := $(filter-out build-fuzz/obj/main.o,$(SRCS:src/%.c=build-fuzz/obj/%.o))
FUZZ_HDRS       := $(wildcard tests/fuzz/*.h)
FUZZ_BINS       := $(FUZZ_NAMES:%=build-fuzz/fuzz_%) $(FUZZ_NAMES:%=build-fuzz/replay_%)

.PHONY: fuzz-ci fuzz-build fuzz-seeds

build-fuzz/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) $(FUZZ_HDRS) $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

build-fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_OBJS) $(FUZZ_HDRS) $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_OBJS) $(LDLIBS)

build-fuzz/mkseeds: tests/fuzz/mkseeds.c $(FUZZ_OBJS) $(FUZZ_HDRS) $(HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

fuzz-build: $(FUZZ_BINS) build-fuzz/mkseeds

fuzz-seeds: build-fuzz/mkseeds
	@sh tests/fuzz/mkseeds.sh build-fuzz/mkseeds build-fuzz/seeds

fuzz: fuzz-build fuzz-seeds
	@FUZZ_RUNS=$(FUZZ_RUNS) sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-ci: fuzz-build fuzz-seeds
	@sh tests/fuzz/run.sh $(FUZZ_CI_SECONDS) $(FUZZ_NAMES)
