# Farout auth — plain GNU make.
#
#   make              lib/libfarout.a, cgi-bin/{login,oauth-callback,me,members}, db/farout-admin
#   make run          build, set up a private PostgreSQL under var/, migrate, serve PUBLIC_URL (http://localhost:8080)
#   make admin ARGS=  farout-admin against make run's database, e.g. make admin ARGS="user list"
#   make help         this list
#   make test         unit + integration tests (starts its own PostgreSQL, nginx, fake Discord)
#   make asan         the same programs with AddressSanitizer + UBSan, under build/asan/
#   make test-asan    the whole test suite against the asan build
#   make test-pgbouncer  the API suites with the programs behind PgBouncer (transaction pooling)
#   make fuzz         every libFuzzer target in tests/fuzz/ for FUZZ_SECONDS (60) each, under build/fuzz/
#   make bench        wrk figures for the main routes next to an nginx static baseline
#                     (PEER=1: and next to the FastAPI peer in ../shared/peers/fastapi;
#                     IDLE_POLL=1: idle CPUs poll instead of halting, a diagnosis)
#   make install      PREFIX=/usr/local DESTDIR= (programs, farout-admin, SQL, nginx config, units, site, docs)
#
# VARIANT=asan (set by `make asan`) puts every output under build/asan/ instead.

PROGRAMS  := login oauth-callback me members
PKGS      := libpq libcjson libcurl libcrypto fcgi libcrypt liboath
PYTHON    ?= /usr/bin/python3
PREFIX    ?= /usr/local
DESTDIR   ?=

CC        ?= cc
CFLAGS    ?= -O2 -g
WARNINGS  := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wwrite-strings -Wformat=2 -Wvla
HARDENING := -fstack-protector-strong -fPIE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(ZXCVBN_LIBS)
# Debian's libzxcvbn-dev ships no .pc file.
ZXCVBN_LIBS := -lzxcvbn -lm
CPPFLAGS  += -D_GNU_SOURCE -Ilib
LDFLAGS   += -pie -Wl,-z,relro,-z,now

ifeq ($(VARIANT),asan)
OUT       := build/asan
SANITIZE  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS    := -O1 -g $(SANITIZE)
LDFLAGS   += $(SANITIZE)
else ifeq ($(VARIANT),fuzz)
# libFuzzer needs clang; the library is instrumented, the fuzzer's main() is linked per target.
OUT       := build/fuzz
CC        := clang
SANITIZE  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS    := -O1 -g $(SANITIZE) -fsanitize=fuzzer-no-link
LDFLAGS   += $(SANITIZE)
else
OUT       := .
CPPFLAGS  += -D_FORTIFY_SOURCE=2
endif

OBJDIR    := build/$(if $(VARIANT),$(VARIANT),release)
LIB_SRC   := $(sort $(wildcard lib/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(OBJDIR)/%.o)
LIBFAROUT := $(OUT)/lib/libfarout.a
BINS      := $(PROGRAMS:%=$(OUT)/cgi-bin/%) $(OUT)/db/farout-admin
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(OBJDIR)/tests/%)
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/tests/%)
FUZZ_SECONDS ?= 60

ALL_CFLAGS = $(WARNINGS) $(HARDENING) $(CFLAGS) $(PKG_CFLAGS)

.PHONY: all help admin deps deps-checked asan run test test-unit test-integration test-asan test-pgbouncer \
        bench install clean check-warnings fuzz fuzz-build
.DELETE_ON_ERROR:

all: $(BINS)

# Missing Debian packages are installed (as root) or named (otherwise); a no-op when all are there.
# Only make run, make test (and test-asan) and make deps may install: a plain `make` or
# `make install` never runs apt-get.
deps-checked:
	@conf/dev/setup-deps.sh
deps:
	@conf/dev/setup-deps.sh

$(OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBFAROUT): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(OUT)/cgi-bin/%: $(OBJDIR)/cgi-bin/%.o $(LIBFAROUT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBFAROUT) $(PKG_LIBS)

# The login program's second file: two-factor sign-in.
$(OUT)/cgi-bin/login: $(OBJDIR)/cgi-bin/login_totp.o

ADMIN_SRC := $(sort $(wildcard db/*.c))
$(OUT)/db/farout-admin: $(ADMIN_SRC:%.c=$(OBJDIR)/%.o) $(LIBFAROUT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBFAROUT) $(PKG_LIBS)

$(OBJDIR)/tests/test_%: $(OBJDIR)/tests/unit/test_%.o $(LIBFAROUT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBFAROUT) $(PKG_LIBS) $(shell pkg-config --libs cmocka)

$(OBJDIR)/tests/unit/%.o: CPPFLAGS += $(shell pkg-config --cflags cmocka)

build/fuzz/tests/fuzz_%: $(OBJDIR)/tests/fuzz/fuzz_%.o $(LIBFAROUT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBFAROUT) $(PKG_LIBS)

# The fuzz targets (clang, libFuzzer + ASan + UBSan), then each one for FUZZ_SECONDS.
fuzz-build: deps-checked
	@$(MAKE) --no-print-directory VARIANT=fuzz $(FUZZ_BINS)
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BINS)

asan:
	@$(MAKE) --no-print-directory VARIANT=asan $(BINS:./%=build/asan/%) build/asan/lib/libfarout.a

test-unit: deps-checked all $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

test-integration: deps-checked all
	FAROUT_BIN_DIR=$(abspath $(OUT)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

test: test-unit test-integration

# The API suites again, the programs reaching PostgreSQL through PgBouncer in
# transaction pooling mode (~4 min; `make test` runs a focused subset of it).
test-pgbouncer: deps-checked all
	FAROUT_PGBOUNCER=1 FAROUT_BIN_DIR=$(abspath $(OUT)) $(PYTHON) -m pytest -q -p no:cacheprovider \
		tests/integration/test_login.py tests/integration/test_me.py tests/integration/test_members.py \
		tests/integration/test_tokens.py tests/integration/test_password.py tests/integration/test_totp.py

test-asan:
	@$(MAKE) --no-print-directory VARIANT=asan test

# exec: make's SIGTERM then reaches run.sh itself, which stops what it started.
run: deps-checked all
	@FAROUT_BIN_DIR=$(abspath $(OUT)) exec conf/dev/run.sh

admin: all
	@FAROUT_BIN_DIR=$(abspath $(OUT)) exec conf/dev/admin.sh $(ARGS)

help:
	@sed -n 's/^#   make/  make/p' $(firstword $(MAKEFILE_LIST))

bench: all
	@PEER=$(PEER) IDLE_POLL=$(IDLE_POLL) FAROUT_BIN_DIR=$(abspath $(OUT)) $(PYTHON) tests/bench/bench.py

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/farout-auth/cgi-bin $(DESTDIR)$(PREFIX)/bin \
	           $(DESTDIR)$(PREFIX)/share/farout-auth/migrations $(DESTDIR)$(PREFIX)/share/doc/farout-auth
	install -m 755 $(PROGRAMS:%=cgi-bin/%) $(DESTDIR)$(PREFIX)/lib/farout-auth/cgi-bin/
	install -m 755 db/farout-admin $(DESTDIR)$(PREFIX)/bin/farout-admin
	install -m 644 db/migrations/*.sql $(DESTDIR)$(PREFIX)/share/farout-auth/migrations/
	install -m 755 db/create-databases.sh $(DESTDIR)$(PREFIX)/share/farout-auth/
	# nginx.conf with the conf/nginx/ includes it names, and the systemd units.
	install -d $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/docker \
	           $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/systemd $(DESTDIR)$(PREFIX)/share/farout-auth/systemd \
	           $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/fcgiwrap
	install -m 644 nginx.conf $(DESTDIR)$(PREFIX)/share/farout-auth/
	install -m 644 conf/nginx/*.conf conf/nginx/README.md $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/
	install -m 755 conf/nginx/mklocal.sh conf/nginx/public-url.sh $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/
	install -m 644 conf/nginx/docker/* $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/docker/
	install -m 644 conf/nginx/systemd/* $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/systemd/
	install -m 644 conf/nginx/fcgiwrap/* $(DESTDIR)$(PREFIX)/share/farout-auth/conf/nginx/fcgiwrap/
	install -m 644 conf/systemd/* $(DESTDIR)$(PREFIX)/share/farout-auth/systemd/
	cp -R www $(DESTDIR)$(PREFIX)/share/farout-auth/
	install -m 644 README.md .env.example nginx.conf $(DESTDIR)$(PREFIX)/share/doc/farout-auth/

# The tree must stay warning-free: this rebuilds everything with -Werror.
check-warnings:
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory CFLAGS="-O2 -g -Werror" all $(UNIT_BINS)

clean:
	rm -rf build lib/libfarout.a $(PROGRAMS:%=cgi-bin/%) db/farout-admin

-include $(LIB_OBJ:.o=.d) $(wildcard $(OBJDIR)/cgi-bin/*.d $(OBJDIR)/db/*.d $(OBJDIR)/tests/unit/*.d \
                                     $(OBJDIR)/tests/fuzz/*.d)
