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
DEPS_OK := $(shell $(PKG_CONFIG) --exists libevent rdkafka inih zlib liblz4 libzstd check snappy lmdb libpq libprotobuf-c && command -v kcat >/dev/null && command -v protoc-c >/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
DEPS_STAMP := deps
endif

CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN     += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=$(SANITIZE)
B        := $(B)/san
endif
CPPFLAGS += -I. -I$(B) -D_GNU_SOURCE -MMD -MP

COMP_LIBS := $(shell $(PKG_CONFIG) --libs zlib liblz4 libzstd 2>/dev/null) -lsnappy
EVENT_LIBS := $(shell $(PKG_CONFIG) --libs libevent libevent_pthreads 2>/dev/null)
INIH_LIBS := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
RDKAFKA_LIBS := $(shell $(PKG_CONFIG) --libs rdkafka 2>/dev/null)
PQ_LIBS := $(shell $(PKG_CONFIG) --libs libpq 2>/dev/null)
PQ_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null)
PROTOBUF_LIBS := $(shell $(PKG_CONFIG) --libs libprotobuf-c 2>/dev/null)
SYS_LIBS := -lpthread -lm

# Modules: each folder one static library.
COMMON_SRC := $(wildcard common/*.c)
LOG_SRC    := $(wildcard log/*.c)
BROKER_SRC := $(wildcard broker/*.c)
CLI_SRC    := $(wildcard cli/*.c)
SCHEMAS_SRC := $(wildcard schemas/*.c)
CAPTURE_SRC := $(wildcard capture/*.c)
# protobuf-c code generated from schemas/*.proto into $(B)/schemas/
PROTO_SRC  := $(wildcard schemas/*.proto)
PROTO_GEN_C := $(PROTO_SRC:%.proto=$(B)/%.pb-c.c)
PROTO_GEN_H := $(PROTO_SRC:%.proto=$(B)/%.pb-c.h)

COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)
LOG_OBJ    := $(LOG_SRC:%.c=$(B)/%.o)
BROKER_OBJ := $(BROKER_SRC:%.c=$(B)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(B)/%.o)
SCHEMAS_OBJ := $(SCHEMAS_SRC:%.c=$(B)/%.o) $(PROTO_GEN_C:%.c=%.o)
CAPTURE_OBJ := $(CAPTURE_SRC:%.c=$(B)/%.o)

LIBSL  := $(B)/libsl.a
LIBLG  := $(B)/liblg.a
LIBBRK := $(B)/libbrk.a
LIBSCH := $(B)/libsch.a
LIBCAP := $(B)/libcap.a

MOD_LIBS := $(LIBCAP) $(LIBSCH) $(LIBBRK) $(LIBLG) $(LIBSL)
ALL_LIBS := $(MOD_LIBS) $(EVENT_LIBS) $(INIH_LIBS) $(COMP_LIBS) $(PQ_LIBS) \
            $(PROTOBUF_LIBS) $(RDKAFKA_LIBS) $(SYS_LIBS)

SLUICE := $(B)/sluice

.PHONY: all check unit integration fuzz bench demo clean deps
all: $(SLUICE)

deps:
	sh scripts/deps.sh

$(B)/%.o: %.c | $(DEPS_STAMP) $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c $< -o $@

# libpq's headers live in their own folder; only capture/ sees them.
$(CAPTURE_OBJ): CPPFLAGS += $(PQ_CFLAGS)

$(B)/schemas/%.pb-c.c $(B)/schemas/%.pb-c.h: schemas/%.proto | $(DEPS_STAMP)
	@mkdir -p $(B)/schemas
	protoc-c --c_out=$(B) $<

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

$(SLUICE): $(CLI_OBJ) $(MOD_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(ALL_LIBS)

# ---------------------------------------------------------------- tests
# Every tests/check_<prefix>.c exports Suite *<prefix>_suite(void); the list
# of suites is generated from the file names.
CHECK_SRC := $(filter-out tests/check_main.c,$(wildcard tests/check_*.c))
CHECK_OBJ := $(CHECK_SRC:%.c=$(B)/%.o) $(B)/tests/check_main.o
TESTUTIL_SRC := $(wildcard tests/util/*.c)
TESTUTIL_OBJ := $(TESTUTIL_SRC:%.c=$(B)/%.o)
CHECK_BIN := $(B)/check_sluice

$(B)/tests/check_suites.h: $(CHECK_SRC) Makefile
	@mkdir -p $(dir $@)
	@for f in $(CHECK_SRC); do p=$$(basename $$f .c); p=$${p#check_}; \
	  echo "SUITE($$p)"; done > $@.tmp && mv $@.tmp $@

$(B)/tests/check_main.o: tests/check_main.c $(B)/tests/check_suites.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(B)/tests $(WARN) $(CFLAGS) -c $< -o $@

$(CHECK_BIN): $(CHECK_OBJ) $(TESTUTIL_OBJ) $(MOD_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(CHECK_OBJ) $(TESTUTIL_OBJ) $(ALL_LIBS) $(CHECK_LIBS)

# Helper programs used by integration tests (librdkafka clients).
TESTPROG_SRC := $(wildcard tests/prog/*.c)
TESTPROG_BIN := $(TESTPROG_SRC:tests/prog/%.c=$(B)/tests/prog/%)
$(B)/tests/prog/%: tests/prog/%.c $(LIBSL)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBSL) $(RDKAFKA_LIBS) $(SYS_LIBS)

check: unit integration

unit: $(CHECK_BIN) $(SLUICE)
	CK_DEFAULT_TIMEOUT=300 SLUICE=$(abspath $(SLUICE)) $(CHECK_BIN)

integration: $(SLUICE) $(TESTPROG_BIN)
	SLUICE=$(abspath $(SLUICE)) BUILD=$(abspath $(B)) sh tests/integration/run.sh

# ---------------------------------------------------------------- fuzzing
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_LIB_SRC := $(COMMON_SRC) $(LOG_SRC) $(BROKER_SRC) $(SCHEMAS_SRC) $(PROTO_GEN_C) $(CAPTURE_SRC)
fuzz: $(FUZZ_BIN)
$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC) | $(DEPS_STAMP) $(PROTO_GEN_H)
	@mkdir -p $(dir $@)
	$(FUZZCC) -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PQ_CFLAGS) -MF $@.d \
	  -o $@ $< $(FUZZ_LIB_SRC) $(EVENT_LIBS) $(INIH_LIBS) $(COMP_LIBS) $(PQ_LIBS) \
	  $(PROTOBUF_LIBS) $(RDKAFKA_LIBS) $(SYS_LIBS)

# ---------------------------------------------------------------- benchmarks
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
bench: $(BENCH_BIN)
$(B)/bench/%: bench/%.c $(MOD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_LIBS)

demo: $(SLUICE)
	sh scripts/demo.sh

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
