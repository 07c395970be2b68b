# sluice: one non-recursive Makefile (STYLE.md).
#
#   make                 build the sluice command and module libraries
#   make check           build and run every Check suite and integration test
#   make SANITIZE=address,undefined check
#   make fuzz            libFuzzer targets (clang-14) in build/fuzz/
#   make bench           benchmark drivers in build/bench/
#   make demo            the quickstart (README.md)
#   WERROR=1             warnings are errors (CI)

B        ?= build
CC       ?= cc
FUZZCC   ?= clang-14
PKG_CONFIG ?= pkg-config

# Install dependencies first when a required tool or library is missing.
# This runs while the Makefile is read, before the pkg-config lines below,
# so that a fresh machine gets the right flags in the same `make` run.
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
DEPS_OK ?= $(shell test -f "$$($(PG_CONFIG) --includedir-server 2>/dev/null)/postgres.h" && $(PKG_CONFIG) --exists libevent rdkafka inih zlib liblz4 libzstd check snappy lmdb libpq libprotobuf-c jemalloc sqlite3 hiredis libmariadb && command -v mariadbd >/dev/null && command -v redis-server >/dev/null && command -v kcat >/dev/null && command -v protoc-c >/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
$(info sluice: a dependency is missing; running scripts/deps.sh)
DEPS_RC := $(shell sh scripts/deps.sh >&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error scripts/deps.sh failed (exit $(DEPS_RC)); run it as root)
endif
endif

O        := $(B)
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN     += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=$(SANITIZE)
O        := $(B)/san
endif
CPPFLAGS += -I. -I$(O) -D_GNU_SOURCE -MMD -MP

COMP_LIBS := $(shell $(PKG_CONFIG) --libs zlib liblz4 libzstd 2>/dev/null) -lsnappy
EVENT_LIBS := $(shell $(PKG_CONFIG) --libs libevent libevent_pthreads 2>/dev/null)
INIH_LIBS := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
RDKAFKA_LIBS := $(shell $(PKG_CONFIG) --libs rdkafka 2>/dev/null)
PQ_LIBS := $(shell $(PKG_CONFIG) --libs libpq 2>/dev/null)
PQ_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null)
MY_LIBS := $(shell $(PKG_CONFIG) --libs libmariadb 2>/dev/null)
MY_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmariadb 2>/dev/null)
PROTOBUF_LIBS := $(shell $(PKG_CONFIG) --libs libprotobuf-c 2>/dev/null)
LMDB_LIBS := $(shell $(PKG_CONFIG) --libs lmdb 2>/dev/null)
SQLITE_LIBS := $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null)
HIREDIS_LIBS := $(shell $(PKG_CONFIG) --libs hiredis 2>/dev/null)
SYS_LIBS := -lpthread -lm
# The sluice command links jemalloc, as Redis does: librdkafka allocates
# every message and header on its own, and with glibc's malloc that was a
# sixth of capture's CPU (docs/benchmarks.md).  Not under sanitizers, which
# bring their own allocator; `make MALLOC=` links glibc's.
ifeq ($(SANITIZE),)
MALLOC ?= jemalloc
endif
MALLOC_LIBS := $(if $(MALLOC),-l$(MALLOC))

# Modules: each folder one static library.
COMMON_SRC := $(wildcard common/*.c)
LOG_SRC    := $(wildcard log/*.c)
BROKER_SRC := $(wildcard broker/*.c)
CLI_SRC    := $(wildcard cli/*.c)
SCHEMAS_SRC := $(wildcard schemas/*.c)
CAPTURE_SRC := $(wildcard capture/*.c)
MATERIALIZE_SRC := $(wildcard materialize/*.c)
# protobuf-c code generated from schemas/*.proto into $(O)/schemas/
PROTO_SRC  := $(wildcard schemas/*.proto)
PROTO_GEN_C := $(PROTO_SRC:%.proto=$(O)/%.pb-c.c)
PROTO_GEN_H := $(PROTO_SRC:%.proto=$(O)/%.pb-c.h)

COMMON_OBJ := $(COMMON_SRC:%.c=$(O)/%.o)
LOG_OBJ    := $(LOG_SRC:%.c=$(O)/%.o)
BROKER_OBJ := $(BROKER_SRC:%.c=$(O)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(O)/%.o)
SCHEMAS_OBJ := $(SCHEMAS_SRC:%.c=$(O)/%.o) $(PROTO_GEN_C:%.c=%.o)
CAPTURE_OBJ := $(CAPTURE_SRC:%.c=$(O)/%.o)
MATERIALIZE_OBJ := $(MATERIALIZE_SRC:%.c=$(O)/%.o)

LIBSL  := $(O)/libsl.a
LIBLG  := $(O)/liblg.a
LIBBRK := $(O)/libbrk.a
LIBSCH := $(O)/libsch.a
LIBCAP := $(O)/libcap.a
LIBMAT := $(O)/libmat.a

MOD_LIBS := $(LIBCAP) $(LIBMAT) $(LIBSCH) $(LIBBRK) $(LIBLG) $(LIBSL)
ALL_LIBS := $(MOD_LIBS) $(EVENT_LIBS) $(INIH_LIBS) $(COMP_LIBS) $(PQ_LIBS) $(MY_LIBS) \
            $(PROTOBUF_LIBS) $(RDKAFKA_LIBS) $(LMDB_LIBS) $(SQLITE_LIBS) $(HIREDIS_LIBS) $(SYS_LIBS)

SLUICE := $(O)/sluice

# A bare `make` builds everything; the plugin's rule below is the first in
# the file and would otherwise be the default.
.DEFAULT_GOAL := all

# contrib/pg_sluice, the logical decoding output plugin, is a shared library
# that the PostgreSQL server loads: built here against the server's headers
# with its own flags (contrib/pg_sluice/Makefile is the PGXS build that
# `make install`s it for a real server).  The tests point a cluster's
# dynamic_library_path at $(O)/contrib.
PLUGIN := $(O)/contrib/pg_sluice.so
PG_SERVER_INC := $(shell $(PG_CONFIG) --includedir-server 2>/dev/null)
$(PLUGIN): contrib/pg_sluice/pg_sluice.c
	@mkdir -p $(dir $@)
	$(CC) -fPIC -shared -O2 -g -Wall -Wmissing-prototypes -Wpointer-arith \
	    -Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror) \
	    -I$(PG_SERVER_INC) -o $@ $<

.PHONY: all check unit integration fuzz bench demo clean deps
all: $(SLUICE) $(PLUGIN)

deps:
	sh scripts/deps.sh

$(O)/%.o: %.c | $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c $< -o $@

# libpq's and libmariadb's headers live in their own folders; only capture/
# sees them.
$(CAPTURE_OBJ): CPPFLAGS += $(PQ_CFLAGS) $(MY_CFLAGS)

$(O)/schemas/%.pb-c.c $(O)/schemas/%.pb-c.h: schemas/%.proto
	@mkdir -p $(O)/schemas
	protoc-c --c_out=$(O) $<

# Keep generated files: they are not intermediate.
.SECONDARY: $(PROTO_GEN_C) $(PROTO_GEN_H)

# Generated code is not ours to hold to our warning flags.
$(PROTO_GEN_C:%.c=%.o): %.o: %.c
	$(CC) $(CPPFLAGS) -std=c11 $(CFLAGS) -c $< -o $@

$(LIBSL): $(COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIBLG): $(LOG_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIBBRK): $(BROKER_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIBSCH): $(SCHEMAS_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIBCAP): $(CAPTURE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(LIBMAT): $(MATERIALIZE_OBJ)
	@rm -f $@; ar rcs $@ $^

$(SLUICE): $(CLI_OBJ) $(MOD_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(ALL_LIBS) $(MALLOC_LIBS)

# ---------------------------------------------------------------- tests
# Every tests/check_<prefix>.c exports Suite *<prefix>_suite(void); the list
# of suites is generated from the file names.
CHECK_SRC := $(filter-out tests/check_main.c,$(wildcard tests/check_*.c))
CHECK_OBJ := $(CHECK_SRC:%.c=$(O)/%.o) $(O)/tests/check_main.o
TESTUTIL_SRC := $(wildcard tests/util/*.c)
TESTUTIL_OBJ := $(TESTUTIL_SRC:%.c=$(O)/%.o)
CHECK_BIN := $(O)/check_sluice

$(O)/tests/check_suites.h: $(CHECK_SRC) Makefile
	@mkdir -p $(dir $@)
	@for f in $(CHECK_SRC); do p=$$(basename $$f .c); p=$${p#check_}; \
	  echo "SUITE($$p)"; done > $@.tmp && mv $@.tmp $@

$(O)/tests/check_main.o: tests/check_main.c $(O)/tests/check_suites.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(O)/tests $(WARN) $(CFLAGS) -c $< -o $@

$(CHECK_BIN): $(CHECK_OBJ) $(TESTUTIL_OBJ) $(MOD_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(CHECK_OBJ) $(TESTUTIL_OBJ) $(ALL_LIBS) $(CHECK_LIBS)

# Helper programs used by integration tests (librdkafka clients).
TESTPROG_SRC := $(wildcard tests/prog/*.c)
TESTPROG_BIN := $(TESTPROG_SRC:tests/prog/%.c=$(O)/tests/prog/%)
$(O)/tests/prog/%: tests/prog/%.c $(LIBSL)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSL) $(RDKAFKA_LIBS) $(SYS_LIBS)

# The benchmark drivers are built (not run) by check, so they cannot rot.
check: unit integration bench

# Under sanitizers the suites run in one process (CK_FORK=no): LeakSanitizer's
# exit check in every forked test child trips Check's timeouts on a loaded
# machine, and one process still reports every leak once, at exit.
ifneq ($(SANITIZE),)
CHECK_ENV := CK_FORK=no
endif
unit: $(CHECK_BIN) $(SLUICE)
	$(CHECK_ENV) CK_DEFAULT_TIMEOUT=300 SLUICE=$(abspath $(SLUICE)) $(CHECK_BIN)

integration: $(SLUICE) $(PLUGIN) $(TESTPROG_BIN)
	SLUICE=$(abspath $(SLUICE)) BUILD=$(abspath $(O)) sh tests/integration/run.sh

# ---------------------------------------------------------------- fuzzing
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_LIB_SRC := $(COMMON_SRC) $(LOG_SRC) $(BROKER_SRC) $(SCHEMAS_SRC) $(PROTO_GEN_C) $(CAPTURE_SRC) $(MATERIALIZE_SRC)
fuzz: $(FUZZ_BIN)
$(O)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC) | $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(FUZZCC) -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PQ_CFLAGS) $(MY_CFLAGS) -MF $@.d \
	  -o $@ $< $(FUZZ_LIB_SRC) $(EVENT_LIBS) $(INIH_LIBS) $(COMP_LIBS) $(PQ_LIBS) $(MY_LIBS) \
	  $(PROTOBUF_LIBS) $(RDKAFKA_LIBS) $(LMDB_LIBS) $(SQLITE_LIBS) $(HIREDIS_LIBS) $(SYS_LIBS)

# ---------------------------------------------------------------- benchmarks
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(O)/bench/%)
bench: $(BENCH_BIN)
$(O)/bench/%: bench/%.c $(MOD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_LIBS)

demo: $(SLUICE)
	SLUICE=$(abspath $(SLUICE)) sh scripts/demo.sh

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)
