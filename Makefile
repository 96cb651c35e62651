# Audio Audit — build, test, benchmark, install.
#
#   make            build build/aa-train and build/aa-infer; with a package missing, stops with one line
#                   naming it and the command that installs it. It never installs anything itself.
#   make deps       install the Debian packages `make` and `make check` need (scripts/install-deps.sh)
#   make check      run every test (Check); SUITE=name runs one suite, CASE=name one test case
#   make asan       the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      benchmarks, beside the PyTorch/torchaudio peers when they are installed
#                   (bench/mpi_epoch.sh: one rank against two under mpirun, with Open MPI)
#   AA_MPI=0        build without Open MPI even when it is installed (docs/DISTRIBUTED.md)
#   make benchmarks accuracy on public spoken-word corpora (FSDD, Speech Commands sample), cross-validated by
#                   speaker, beside published figures (scripts/benchmarks.sh; trains 23 networks, needs jq)
#   make fuzz       libFuzzer targets (fuzz/), each run FUZZ_SECONDS (30); make fuzz-smoke: a few seconds each
#                   (make fuzz-deps installs clang and its runtimes)
#   make demo       generate the demo corpus, train, evaluate and classify (the README's first command)
#   make install    PREFIX=/usr/local DESTDIR= : binaries, the library, its header and .pc, man pages, Python
#   make uninstall  the same PREFIX and DESTDIR: removes exactly what install installed
#   make clean
#
# Sources are found by wildcard: a new file in a module directory is built without editing this file.
# Each module (util, dsp, nn, datasets, model, eval, demo) becomes part of one internal static archive,
# build/libaa-internal.a, that both binaries and the tests link. The public library (include/audioaudit.h,
# lib/) is built from the same objects into build/lib/: libaudioaudit.so.0 and libaudioaudit.a, which export
# the audioaudit_ names only.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= gcc

PKGS       := openblas sndfile fftw3f soxr libmicrohttpd
TEST_PKGS  := check
MODULES    := util dsp nn datasets model eval demo

# ---- what is needed, checked before anything is built -----------------------------------------------------
# The goals below need none of the packages (deps installs them; demo and browser-test run scripts that
# install what they use, then call make again). Every other goal first asks scripts/install-deps.sh
# --missing, which looks for the packages' commands and pkg-config modules and asks no package manager,
# and stops with one line when something is missing: `make` builds or says what to install.
NO_DEPS_GOALS := deps fuzz-deps clean uninstall demo browser-test
TEST_GOALS    := check check-asan asan %/aa-tests
FUZZ_GOALS    := fuzz fuzz-bins fuzz-smoke %/seedgen $(BUILD)/fuzz/%
GOALS         := $(or $(MAKECMDGOALS),all)
ifneq ($(filter-out $(NO_DEPS_GOALS),$(GOALS)),)
  DEPS_MISSING := $(shell bash scripts/install-deps.sh --missing build $(if $(filter $(TEST_GOALS),$(GOALS)),test))
  ifneq ($(DEPS_MISSING),)
    $(error missing Debian packages: $(DEPS_MISSING). Install them with `make deps` (as root or with sudo), or as root: apt-get install -y $(DEPS_MISSING))
  endif
  ifneq ($(filter $(FUZZ_GOALS),$(GOALS)),)
    FUZZ_MISSING := $(shell bash scripts/install-deps.sh --missing fuzz)
    ifneq ($(FUZZ_MISSING),)
      $(error missing Debian packages for fuzzing: $(FUZZ_MISSING). Install them with `make fuzz-deps` (as root or with sudo), or as root: apt-get install -y $(FUZZ_MISSING))
    endif
  endif
  # Once per make run, not once per compiled file.
  PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS))
  PKG_LIBS    := $(shell pkg-config --libs $(filter-out libmicrohttpd openblas,$(PKGS)))
  # Open MPI when it is installed (Debian: libopenmpi-dev), for aa-train and aa-infer --eval under mpirun
  # (util/dist.c, the only file that calls it); without it, or with AA_MPI=0, the build is one-process.
  AA_MPI ?= $(shell pkg-config --exists ompi-c && echo 1 || echo 0)
  # Only util/dist.c is compiled with it and only the binaries link it: the public library never reaches
  # dist_'s MPI calls (its link drops them), so it and its users do not load libmpi.
  ifeq ($(AA_MPI),1)
    MPI_CFLAGS := $(shell pkg-config --cflags ompi-c) -DAA_HAVE_MPI
    MPI_LIBS   := $(shell pkg-config --libs ompi-c)
  endif
endif
# libmicrohttpd is not linked: infer/mhd.c loads it when a server starts, so that a run that does not serve
# does not load it and the GnuTLS stack behind it.
# Nor is OpenBLAS: nn/gemm.c loads it when the first network is built, once OPENBLAS_NUM_THREADS=1 is set,
# because a linked OpenBLAS starts its worker threads before main() (see nn/gemm.c for what they did under
# an address-space cap). It stays a shared library. Linked statically, a one-clip aa-infer run took 9.5 ms instead of 12.2
# (no symbol binding, no worker threads started), but each binary grew from 1.3 MB to 27 MB (every CPU's
# kernels) and the system's BLAS could no longer be updated or swapped without a rebuild.
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS))
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS))

# The release, from the one place it is written; the shared library's SONAME carries its major number.
VERSION  := $(shell sed -n 's/^\#define AA_VERSION "\(.*\)"/\1/p' util/util.h)
SOMAJOR  := $(firstword $(subst ., ,$(VERSION)))

WARN     := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
# -fno-math-errno only: exactness tests and NaN checks rule out -ffast-math/-Ofast.
# Every object is compiled once, for the binaries and the shared library alike: position-independent,
# every symbol hidden unless the public header marks it (AUDIOAUDIT_API), one section per function so that
# the library's link drops what no public function reaches. Hidden symbols bind inside the module, so the
# code is what -fPIE would give the binaries: aa-infer --timeline over 600 s (aa-cnn-s, one thread, 30
# alternating runs against a build without these flags) took 1.320 s of user time at the median against
# 1.313, and was the slower of a pair 14 times out of 30.
ALL_CFLAGS = -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE $(WARN) -fopenmp -fno-math-errno -I. $(CPPFLAGS) \
             -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections \
             $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
# CPPFLAGS and LDFLAGS from the environment are honoured (a Debian build's hardening: fortify, relro, now).
LDLIBS_ALL = $(LDFLAGS) $(PKG_LIBS) $(MPI_LIBS) -fopenmp -lm -lpthread

LIB_SRC   := $(sort $(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
# Each binary's main.c is its entry point only; the rest of train/ and infer/ is also linked into the tests.
TRAIN_SRC := $(filter-out train/main.c,$(sort $(wildcard train/*.c)))
INFER_SRC := $(filter-out infer/main.c,$(sort $(wildcard infer/*.c)))
API_SRC   := $(sort $(wildcard lib/*.c))
TEST_SRC  := $(sort $(wildcard tests/test_*.c)) tests/check_main.c $(sort $(wildcard tests/util/*.c))
WEB_SRC   := $(sort $(wildcard infer/web/*))

OBJ       = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB       := $(BUILD)/libaa-internal.a
TRAIN_BIN := $(BUILD)/aa-train
INFER_BIN := $(BUILD)/aa-infer
TEST_BIN  := $(BUILD)/aa-tests
WEB_GEN   := $(BUILD)/gen/web_assets.c
SUITES    := $(BUILD)/gen/suites.inc

.PHONY: FORCE all deps check check-asan asan bench bench-bins benchmarks demo install uninstall clean fuzz fuzz-bins fuzz-smoke \
        fuzz-deps stub-server browser-test
.DELETE_ON_ERROR:

all: $(TRAIN_BIN) $(INFER_BIN) lib

# The only goals that install packages, and only when asked.
deps:
	bash scripts/install-deps.sh build test

fuzz-deps:
	bash scripts/install-deps.sh fuzz

# The compiler's flags as a file that changes when they change, so that a change of flags (or CFLAGS= on
# the command line) rebuilds every object instead of mixing objects of two kinds.
FLAGS_STAMP := $(BUILD)/obj/flags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) $(MPI_LIBS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(MPI_CFLAGS) $(MPI_LIBS)' > $@
FORCE:

$(BUILD)/obj/util/dist.o: ALL_CFLAGS += $(MPI_CFLAGS)

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c $(SUITES) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Wno-missing-prototypes -I$(BUILD)/gen -MMD -MP -c $< -o $@

$(LIB): $(call OBJ,$(LIB_SRC))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Web assets are ordinary files in infer/web/, embedded as byte arrays so the binary serves them alone.
$(WEB_GEN): $(WEB_SRC) scripts/embed.sh
	@mkdir -p $(@D)
	bash scripts/embed.sh $@ $(WEB_SRC)

$(BUILD)/obj/gen/web_assets.o: $(WEB_GEN) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(TRAIN_BIN): $(call OBJ,train/main.c $(TRAIN_SRC)) $(LIB)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(INFER_BIN): $(call OBJ,infer/main.c $(INFER_SRC)) $(BUILD)/obj/gen/web_assets.o $(LIB)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

# ---- the public library -----------------------------------------------------------------------------------
# lib/ (the public functions) over the internal archive and infer/'s objects (a timeline is aa-infer
# --timeline's own code), in an archive of its own so that only the members a public function needs are
# pulled in. Shared: --gc-sections keeps what the exported functions reach, -z defs refuses an unresolved
# symbol at link time rather than at a user's run time, the version script (lib/audioaudit.map) exports
# the audioaudit_ names and nothing else. Static: one relocatable object of the same code
# whose other symbols are made local (objcopy: the hidden ones, and the resolvers gcc exports), so that a program linking libaudioaudit.a
# sees only the audioaudit_ names too and cannot clash with the internal ones.
LIBDIR_B   := $(BUILD)/lib
SONAME     := libaudioaudit.so.$(SOMAJOR)
SHLIB      := $(LIBDIR_B)/libaudioaudit.so.$(VERSION)
STLIB      := $(LIBDIR_B)/libaudioaudit.a
INFER_AR   := $(BUILD)/libaa-infer.a
API_OBJ     = $(call OBJ,$(API_SRC))
# what the library needs at run time, for the .pc's Libs.private (static linking) and the link itself
LIB_LIBS    = $(LDFLAGS) $(PKG_LIBS) -fopenmp -lm -lpthread -ldl

$(INFER_AR): $(call OBJ,$(INFER_SRC)) $(BUILD)/obj/gen/web_assets.o
	rm -f $@ && ar rcs $@ $^

$(SHLIB): $(API_OBJ) $(INFER_AR) $(LIB) lib/audioaudit.map
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/audioaudit.map -Wl,--gc-sections -Wl,-z,defs \
	    -Wl,--as-needed -o $@ \
	    $(API_OBJ) $(INFER_AR) $(LIB) $(LIB_LIBS)
	ln -sf $(notdir $@) $(LIBDIR_B)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR_B)/libaudioaudit.so

$(STLIB): $(API_OBJ) $(INFER_AR) $(LIB)
	@mkdir -p $(@D)
	$(LD) -r --gc-sections --gc-keep-exported -o $(LIBDIR_B)/audioaudit.o $(API_OBJ) $(INFER_AR) $(LIB)
	nm -g --defined-only $(LIBDIR_B)/audioaudit.o | awk '$$3 !~ /^audioaudit_/ {print $$3}' > $(LIBDIR_B)/local.txt
	objcopy --localize-hidden --localize-symbols=$(LIBDIR_B)/local.txt $(LIBDIR_B)/audioaudit.o
	rm -f $(LIBDIR_B)/local.txt
	rm -f $@ && ar rcs $@ $(LIBDIR_B)/audioaudit.o && rm -f $(LIBDIR_B)/audioaudit.o

.PHONY: lib
lib: $(SHLIB) $(STLIB)

# Test suites register themselves: every `Suite *NAME_suite(void)` in tests/test_*.c is run.
$(SUITES): $(sort $(wildcard tests/test_*.c))
	@mkdir -p $(@D)
	@sed -n 's/^Suite \*\([a-z0-9_]*\)_suite(void).*/AA_SUITE(\1)/p' $(sort $(wildcard tests/test_*.c)) > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

$(TEST_BIN): $(call OBJ,$(TEST_SRC) $(TRAIN_SRC) $(INFER_SRC) $(API_SRC)) $(BUILD)/obj/gen/web_assets.o $(LIB)
	$(CC) -o $@ $^ $(TEST_LIBS) $(LDLIBS_ALL)

# The web server with a stand-in classifier, for the real-browser test (tests/browser/); built with the
# tests so that it keeps compiling.
STUB_BIN := $(BUILD)/aa-stub-server
$(STUB_BIN): $(call OBJ,tests/browser/stub_server.c $(INFER_SRC)) $(BUILD)/obj/gen/web_assets.o $(LIB)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
stub-server: $(STUB_BIN)

# A small model trained on the demo sounds with nn/ directly, for the browser test when aa-train cannot
# make one (tests/browser/demo_model.c).
DEMO_MODEL_BIN := $(BUILD)/aa-demo-model
$(DEMO_MODEL_BIN): $(call OBJ,tests/browser/demo_model.c tests/util/demomodel.c) $(LIB)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

browser-test:
	bash scripts/browser-test.sh

# Timeouts only catch hangs (speed is the benchmarks' business): on a machine busy with other work a test
# of one second can take four, so every Check timeout is scaled by CK_TIMEOUT_MULTIPLIER (default 4).
CK_ENV = CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-4}
check: all $(TEST_BIN) $(STUB_BIN) $(DEMO_MODEL_BIN)
	$(CK_ENV) AA_BUILD=$(BUILD) AA_FIXTURES=tests/fixtures $(TEST_BIN)

# A separate build tree, so sanitized and plain objects never mix.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
asan:
	$(MAKE) --no-print-directory BUILD=build/asan CFLAGS="$(ASAN_FLAGS)" \
	    LDLIBS_EXTRA="-fsanitize=address,undefined" check-asan

check-asan: LDLIBS_ALL += $(LDLIBS_EXTRA)
check-asan: LIB_LIBS += $(LDLIBS_EXTRA)
check-asan: all $(TEST_BIN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    AA_SANITIZED=1 CK_TIMEOUT_MULTIPLIER=8 AA_BUILD=$(BUILD) AA_FIXTURES=tests/fixtures $(TEST_BIN)

BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

bench-bins: all $(BENCH_BIN)

bench: bench-bins
	AA_BUILD=$(BUILD) bash scripts/bench.sh

benchmarks: all
	AA_BUILD=$(BUILD) bash scripts/benchmarks.sh

demo:
	bash scripts/demo.sh

# ---- fuzzing: clang + libFuzzer, with ASan and UBSan, on the project's own sources compiled apart -------
# Every fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput and becomes build/fuzz/fuzz_NAME. The library and
# the HTTP code are compiled again by clang with coverage instrumentation (the gcc objects carry none).
# fuzz/run.sh makes the seed corpora (fuzz/make-seeds.sh), runs each target and prints executions and
# crashes per target; a crash leaves its input in build/fuzz/crashes/NAME/.
FUZZ_CC      ?= clang
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SECONDS ?= 30
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# -Wno-pass-failed: clang reports each `omp simd` loop it chooses not to vectorise at -O1; not a defect.
FUZZ_CFLAGS   = -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE $(WARN) -fopenmp -fno-math-errno -I. \
                $(PKG_CFLAGS) -g -O1 $(FUZZ_SAN) -Wno-pass-failed
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC) $(INFER_SRC)) $(FUZZ_BUILD)/obj/gen/web_assets.o
FUZZ_BINS    := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(sort $(wildcard fuzz/fuzz_*.c)))
# reached only through the pattern rules below, so make would delete them as intermediates after each link
.SECONDARY: $(FUZZ_LIB_OBJ) $(patsubst fuzz/%.c,$(FUZZ_BUILD)/obj/fuzz/%.o,$(wildcard fuzz/fuzz_*.c))

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/obj/gen/web_assets.o: $(WEB_GEN)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -fopenmp -lm -lpthread

# The seed generator is an ordinary program on the ordinary library: seeds are valid files, not fuzz output.
$(FUZZ_BUILD)/seedgen: $(BUILD)/obj/fuzz/seedgen.o $(LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_ALL)

fuzz-bins: $(FUZZ_BINS) $(FUZZ_BUILD)/seedgen

fuzz: fuzz-bins
	FUZZ_BUILD=$(FUZZ_BUILD) bash fuzz/run.sh $(FUZZ_SECONDS)

fuzz-smoke: fuzz-bins
	FUZZ_BUILD=$(FUZZ_BUILD) bash fuzz/run.sh 4

# ---- manual pages: made from each binary's --help (scripts/man.sh), so they say what --help says -------
MAN_PAGES := $(BUILD)/man/aa-train.1 $(BUILD)/man/aa-infer.1
MAN_SUMMARY_aa-train := train a sound classifier on folders of recordings
MAN_SUMMARY_aa-infer := classify recordings with an Audio Audit model
$(BUILD)/man/%.1: $(BUILD)/% scripts/man.sh
	@mkdir -p $(@D)
	bash scripts/man.sh $< "$(MAN_SUMMARY_$*)" > $@.tmp && mv $@.tmp $@
.PHONY: man
man: $(MAN_PAGES)

# ---- install ------------------------------------------------------------------------------------------------
# Every directory can be set on its own (debian/rules passes LIBDIR=/usr/lib/<multiarch>,
# PYTHONDIR=/usr/lib/python3/dist-packages and an empty PYTHON_LIBDIR). The binaries stay linked to the internal archive (the same
# objects the library is made of): they call much that the library does not export (the trainer, the
# evaluation, the server), and they run from build/ without an install.
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# where this machine's python3 looks for packages under PREFIX (Debian: /usr/lib/python3/dist-packages,
# /usr/local/lib/python3.N/dist-packages); asked only when installing
PYTHONDIR    ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/$(shell python3 -c \
                'import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null || echo python3)/dist-packages)
# the folder the Python package first looks for the shared library in; empty: by its SONAME only (a
# distribution's package, whose library is where the dynamic linker looks anyway)
PYTHON_LIBDIR ?= $(LIBDIR)
PY_SRC       := python/audioaudit/__init__.py

INSTALLED = $(BINDIR)/aa-train $(BINDIR)/aa-infer \
            $(LIBDIR)/libaudioaudit.so.$(VERSION) $(LIBDIR)/$(SONAME) $(LIBDIR)/libaudioaudit.so \
            $(LIBDIR)/libaudioaudit.a $(PKGCONFIGDIR)/audioaudit.pc $(INCLUDEDIR)/audioaudit.h \
            $(MANDIR)/man1/aa-train.1 $(MANDIR)/man1/aa-infer.1 \
            $(PYTHONDIR)/audioaudit/__init__.py $(PYTHONDIR)/audioaudit/_build.py

install: all man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PYTHONDIR)/audioaudit
	install -m 755 $(TRAIN_BIN) $(INFER_BIN) $(DESTDIR)$(BINDIR)/
	install -m 644 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libaudioaudit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libaudioaudit.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' lib/audioaudit.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/audioaudit.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/audioaudit.pc
	install -m 644 include/audioaudit.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(PY_SRC) $(DESTDIR)$(PYTHONDIR)/audioaudit/
	printf '# Written by make install.\nLIBDIR = %s\nSONAME = "%s"\n' \
	    '$(if $(PYTHON_LIBDIR),"$(PYTHON_LIBDIR)",None)' '$(SONAME)' > $(DESTDIR)$(PYTHONDIR)/audioaudit/_build.py
	chmod 644 $(DESTDIR)$(PYTHONDIR)/audioaudit/_build.py

# Exactly what install installed (and the bytecode python3 made of the package), then the package's
# folder if that left it empty.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rm -rf $(DESTDIR)$(PYTHONDIR)/audioaudit/__pycache__
	-rmdir $(DESTDIR)$(PYTHONDIR)/audioaudit 2>/dev/null

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
