# aivenauth - one plain, non-recursive Makefile.
#
#   make            build library, network module, PAM module, aivenctl
#   make check      install missing Debian packages (as root), build, run
#                   every test (unit, CLI against the simulator, PAM, real
#                   services end to end)
#   make demo       the main job end to end on the bundled API simulator
#   make asan       the unit and PAM suites under ASan+UBSan (build-asan/)
#   make valgrind   the unit suites under valgrind memcheck
#   make bench      benchmarks (bench/), figures for docs/PERFORMANCE.md
#   make fuzz       libFuzzer targets, bounded time (clang)
#   make stress     kill -9 during writes, concurrent readers (bounded)
#   make install    DESTDIR= PREFIX= LIBDIR= PAMDIR= SYSCONFDIR=
#
# V=1 shows commands; WERROR=0 drops -Werror (for packagers);
# BUILD=dir builds elsewhere (the sanitizer builds use build-asan).

VERSION     := 0.1.0
SOVERSION   := 1

CC          ?= cc
PKG_CONFIG  ?= pkg-config
BUILD       ?= build
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
PAMDIR      ?= $(LIBDIR)/security
SYSCONFDIR  ?= /etc
NETDIR      ?= $(LIBDIR)/aivenauth
WERROR      ?= 1

OPT         ?= -O2 -g
WARN        := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wmissing-declarations -Wpointer-arith \
               -Wvla -Wundef
ifeq ($(WERROR),1)
WARN        += -Werror
endif
HARDEN      := -fPIC -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN         ?=
CPPFLAGS    += -std=c11 -D_GNU_SOURCE -Ilibaivenauth/include -Ilibaivenauth \
               -DAIVENAUTH_NET_DEFAULT='"$(NETDIR)/aivenauth-net.so"' \
               -DAIVENAUTH_SYSCONFDIR='"$(SYSCONFDIR)"'
CFLAGS      ?=
ALL_CFLAGS   = $(OPT) $(WARN) $(HARDEN) $(SAN) $(CFLAGS) -MMD -MP
LDHARDEN    := -Wl,-z,relro,-z,now -Wl,--no-undefined
LDFLAGS     ?=
ALL_LDFLAGS  = $(LDHARDEN) $(SAN) $(LDFLAGS)
# Binaries in the build tree find libaivenauth.so.1 next to them.
RPATH       ?= -Wl,-rpath,'$$ORIGIN'

ifneq ($(V),1)
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

# Dependencies resolved lazily: `make deps` must work before they exist.
pc = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null)
CORE_LIBS    = $(call pc,--libs,libsodium) -llmdb
NET_CFLAGS   = $(call pc,--cflags,libcurl jansson)
NET_LIBS     = $(call pc,--libs,libcurl jansson)
CHECK_CFLAGS = $(call pc,--cflags,check)
CHECK_LIBS   = $(call pc,--libs,check)
JANSSON_LIBS = $(call pc,--libs,jansson)

# The library's rooms (docs/DESIGN.md, "Source tree"): what every side
# shares, what a service may do (read), what only the writer does, fleet
# mode on etcd, and the network module.
BASE_SRCS   := $(sort $(wildcard libaivenauth/base/*.c))
READER_SRCS := $(sort $(wildcard libaivenauth/reader/*.c))
WRITER_SRCS := $(sort $(wildcard libaivenauth/writer/*.c))
FLEET_SRCS  := $(sort $(wildcard libaivenauth/fleet/*.c))
CORE_SRCS := $(BASE_SRCS) $(READER_SRCS) $(WRITER_SRCS) $(FLEET_SRCS)
NET_SRCS  := $(sort $(wildcard libaivenauth/net/*.c))
# Helpers the network module compiles in (it links nothing of the core).
NET_SHARED_SRCS := libaivenauth/base/record.c libaivenauth/base/timeparse.c \
                   libaivenauth/base/buf.c
PAM_SRCS  := $(sort $(wildcard pam_aiven/*.c))
SASLD_SRCS := $(sort $(wildcard saslauthd/*.c))
CTL_SRCS  := $(sort $(wildcard aivenctl/*.c))
# The module's argument parser, pure (no libpam, no context), compiled into
# aivenctl too: `aivenctl doctor` judges a PAM line as the module will.
CTL_SHARED_SRCS := pam_aiven/args.c pam_aiven/logfield.c \
                   libaivenauth/base/suggest.c
TEST_SRCS := $(sort $(wildcard tests/check_*.c))
TEST_HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
CORE_OBJS := $(call obj,$(CORE_SRCS))
# What a service loads: the foundation and the reader, nothing that writes.
READER_OBJS := $(call obj,$(BASE_SRCS) $(READER_SRCS))
NET_OBJS  := $(call obj,$(NET_SRCS))
NET_SHARED_OBJS := $(call obj,$(NET_SHARED_SRCS))
PAM_OBJS  := $(call obj,$(PAM_SRCS))
SASLD_OBJS := $(call obj,$(SASLD_SRCS))
# Everything of the responder but main(): what its unit tests link.  The
# log-field sanitiser is pam_aiven's own (one rule for what a log line may
# show of a client-chosen string), and so is the argument parser (its
# policy file's user_match, scope and account_map are the module's).
SASLD_LIB_OBJS := $(filter-out $(BUILD)/obj/saslauthd/main.o,$(SASLD_OBJS)) \
                  $(BUILD)/obj/pam_aiven/logfield.o $(BUILD)/obj/pam_aiven/args.o
# The protocol and the event loop alone: the bench's floor responder.
SASLD_LOOP_OBJS := $(call obj,saslauthd/proto.c saslauthd/loop.c saslauthd/log.c \
                   saslauthd/listen.c)
CTL_OBJS  := $(call obj,$(CTL_SRCS)) $(call obj,$(CTL_SHARED_SRCS))
TEST_HELPER_OBJS := $(call obj,$(TEST_HELPER_SRCS))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/%,$(TEST_SRCS))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench_%,$(BENCH_SRCS))

LIB_SO     := $(BUILD)/libaivenauth.so.$(SOVERSION)
LIB_DEVSO  := $(BUILD)/libaivenauth.so
LIB_A      := $(BUILD)/libaivenauth.a
NET_A      := $(BUILD)/libaivenauth-net.a
NET_SO     := $(BUILD)/aivenauth/aivenauth-net.so
PAM_SO     := $(BUILD)/pam_aiven.so
CTL        := $(BUILD)/aivenctl
SASLD      := $(BUILD)/aivenauth-saslauthd
PC         := $(BUILD)/aivenauth.pc

.PHONY: all
all: $(LIB_SO) $(LIB_DEVSO) $(NET_SO) $(PAM_SO) $(CTL) $(SASLD) $(PC)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The network module and the CLI see libcurl/jansson headers; nothing else.
$(NET_OBJS) $(call obj,$(CTL_SRCS)) $(TEST_HELPER_OBJS): CPPFLAGS += $(NET_CFLAGS)
$(call obj,$(TEST_SRCS)) $(TEST_HELPER_OBJS): CPPFLAGS += $(CHECK_CFLAGS) $(NET_CFLAGS) -DAIVENAUTH_TESTING -Itests

$(LIB_SO): $(CORE_OBJS) libaivenauth/libaivenauth.map
	$(call msg,LD,$@)$(CC) -shared -Wl,-soname,libaivenauth.so.$(SOVERSION) \
	    -Wl,--version-script=libaivenauth/libaivenauth.map \
	    -o $@ $(CORE_OBJS) $(ALL_LDFLAGS) $(CORE_LIBS) -ldl

$(LIB_DEVSO): $(LIB_SO)
	$(Q)ln -sf libaivenauth.so.$(SOVERSION) $@

$(LIB_A): $(CORE_OBJS)
	$(call msg,AR,$@)rm -f $@; ar rcs $@ $^

$(NET_A): $(NET_OBJS)
	$(call msg,AR,$@)rm -f $@; ar rcs $@ $^

$(NET_SO): $(NET_OBJS) $(NET_SHARED_OBJS) libaivenauth/net/net.map
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)$(CC) -shared -Wl,--version-script=libaivenauth/net/net.map \
	    -o $@ $(NET_OBJS) $(NET_SHARED_OBJS) $(ALL_LDFLAGS) $(NET_LIBS) \
	    $(call pc,--libs,libsodium)

# The PAM module carries the foundation and the reader compiled in, and
# nothing of the writer or of fleet mode: a service can only read
# (tests/it_boundary.sh checks the symbols).  Compiled in rather than
# linked: one object fewer for libpam to dlopen and relocate.  -z nodelete:
# libpam dlcloses modules at pam_end; staying loaded keeps the context
# pool (pam_aiven/ctxpool.c) and spares a load per login (see
# docs/PERFORMANCE.md).
$(PAM_SO): $(PAM_OBJS) $(READER_OBJS) pam_aiven/pam_aiven.map
	$(call msg,LD,$@)$(CC) -shared -Wl,--version-script=pam_aiven/pam_aiven.map \
	    -Wl,-z,nodelete \
	    -o $@ $(PAM_OBJS) $(READER_OBJS) $(ALL_LDFLAGS) $(PAM_LDFLAGS) \
	    $(CORE_LIBS) -lpam -ldl

$(CTL): $(CTL_OBJS) $(LIB_SO) $(LIB_DEVSO)
	$(call msg,LD,$@)$(CC) -o $@ $(CTL_OBJS) $(ALL_LDFLAGS) $(RPATH) \
	    -L$(BUILD) -laivenauth $(JANSSON_LIBS)

# The SASL responder is a reader like pam_aiven.so: the foundation and the
# reader compiled in, no writer, no fleet (tests/it_boundary.sh).  The
# network module is dlopened by base/netload.c only for online learning.
$(SASLD): $(SASLD_LIB_OBJS) $(BUILD)/obj/saslauthd/main.o $(READER_OBJS)
	$(call msg,LD,$@)$(CC) -pie -o $@ $(BUILD)/obj/saslauthd/main.o \
	    $(SASLD_LIB_OBJS) $(READER_OBJS) $(ALL_LDFLAGS) $(CORE_LIBS) -ldl

$(PC): libaivenauth/aivenauth.pc.in Makefile
	$(call msg,GEN,$@)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# Unit tests link the core statically (internals are testable) plus the
# network objects (the JSON layer is tested in-process).
$(BUILD)/check_%: $(BUILD)/obj/tests/check_%.o $(TEST_HELPER_OBJS) $(LIB_A) $(NET_A) $(NET_SO)
	$(call msg,LD,$@)$(CC) -o $@ $< $(CHECK_EXTRA_OBJS) $(TEST_HELPER_OBJS) $(NET_A) $(LIB_A) \
	    $(ALL_LDFLAGS) $(CHECK_LIBS) $(NET_LIBS) $(CORE_LIBS) -lpam -ldl

# The responder's protocol, policy and loop, for its unit suite; the loop
# alone for the bench's floor responder.
$(BUILD)/check_saslauthd: $(SASLD_LIB_OBJS)
$(BUILD)/check_saslauthd: CHECK_EXTRA_OBJS = $(SASLD_LIB_OBJS)
$(BUILD)/bench_sasl_floor: $(SASLD_LOOP_OBJS)
$(BUILD)/bench_sasl_floor: BENCH_EXTRA_OBJS = $(SASLD_LOOP_OBJS)

$(BUILD)/bench_%: $(BUILD)/obj/bench/%.o $(NET_A) $(LIB_A)
	$(call msg,LD,$@)$(CC) -o $@ $< $(BENCH_EXTRA_OBJS) $(NET_A) $(LIB_A) $(ALL_LDFLAGS) \
	    $(NET_LIBS) $(CORE_LIBS) -lpam -ldl -lm

# ---------------------------------------------------------------- tests

DEB_BUILD := build-essential pkg-config libpam0g-dev libsodium-dev liblmdb-dev \
             libcurl4-openssl-dev libjansson-dev check libsubunit-dev
DEB_TEST  := python3 pamtester libpam-wrapper libpamtest0-dev db-util \
             lmdb-utils sasl2-bin dovecot-core nginx libnginx-mod-http-auth-pam curl \
             postgresql openssh-server openssh-client sshpass valgrind \
             ca-certificates procps iproute2 etcd-server etcd-client debhelper \
             lintian postfix swaks slapd ldap-utils libsasl2-modules btrfs-progs
DEB_EXTRA := clang libclang-rt-14-dev

.PHONY: deps
deps:
	@tools/install-deps $(DEB_BUILD) $(DEB_TEST)

.PHONY: unit
unit: all $(TEST_BINS)
	@tools/run-unit $(TEST_BINS)

.PHONY: check
# The benchmarks are built too (not run): a bench that no longer compiles
# is caught here, not at the next `make bench`.
check: deps
	@$(MAKE) --no-print-directory all $(TEST_BINS) $(BENCH_BINS)
	@tools/run-tests $(BUILD)

# The whole unit and PAM suites, built with ASan+UBSan in their own tree.
.PHONY: asan
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' \
	    PAM_LDFLAGS='-Wl,-z,nodelete' all $(patsubst $(BUILD)/%,build-asan/%,$(TEST_BINS))
	@ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tools/run-unit $(patsubst $(BUILD)/%,build-asan/%,$(TEST_BINS))

.PHONY: valgrind
valgrind: all $(TEST_BINS)
	@VALGRIND=1 tools/run-unit $(TEST_BINS)

.PHONY: demo
demo: deps all
	@tools/demo $(BUILD)

.PHONY: bench
bench: deps all $(BENCH_BINS)
	@tools/run-bench $(BUILD)

.PHONY: fuzz
fuzz: deps
	@tools/install-deps $(DEB_EXTRA)
	@tools/run-fuzz

# Crash consistency, concurrency, dead readers, map growth (tools/run-stress).
.PHONY: stress
stress: all
	@tools/run-stress $(BUILD)

# ---------------------------------------------------------------- install
#
#   make install [DESTDIR=] [PREFIX=/usr/local] [LIBDIR=] [PAMDIR=] [NETDIR=]
#                [SYSCONFDIR=/etc] [SBINDIR=] [MANDIR=] [SYSTEMDUNITDIR=] ...
#
# Give the same path variables to `make` and `make install`: NETDIR and
# SYSCONFDIR are compiled in (AIVENAUTH_NET_DEFAULT, AIVENAUTH_SYSCONFDIR),
# and a stamp that changes with them rebuilds the objects when they change.
# The installed aivenctl is linked again without the build tree's $ORIGIN
# RPATH (INSTALL_RPATH, empty by default: the library is found in LIBDIR
# through ld.so.conf, or set INSTALL_RPATH=-Wl,-rpath,/opt/x/lib).

DATADIR        ?= $(PREFIX)/share
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR    ?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions
PKGCONFIGDIR   ?= $(LIBDIR)/pkgconfig
INSTALL_RPATH  ?=
INSTALL        ?= install

PATHS_STAMP := $(BUILD)/paths.stamp
PATHS_VALUE := $(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(NETDIR)|$(SYSCONFDIR)|$(VERSION)
$(PATHS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(PATHS_VALUE)' ]; then \
	    printf '%s\n' '$(PATHS_VALUE)' > $@; fi
$(CORE_OBJS) $(NET_OBJS) $(PAM_OBJS) $(CTL_OBJS) $(SASLD_OBJS) $(PC): $(PATHS_STAMP)
.PHONY: FORCE
FORCE:

CTL_INST := $(BUILD)/inst/aivenctl
$(CTL_INST): $(CTL_OBJS) $(LIB_SO) $(LIB_DEVSO)
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)$(CC) -o $@ $(CTL_OBJS) $(ALL_LDFLAGS) $(INSTALL_RPATH) \
	    -L$(BUILD) -laivenauth $(JANSSON_LIBS)

# Installed files (relative to DESTDIR), for install, uninstall and the
# install test.
MAN_PAGES := $(sort $(wildcard docs/*.3 docs/*.5 docs/*.8))
SYSTEMD_UNITS := systemd/aivenauth-sync.service systemd/aivenauth-sync.timer \
    systemd/aivenauth-follow.service systemd/aivenauth-saslauthd.socket \
    systemd/aivenauth-saslauthd.service

.PHONY: install
install: all $(CTL_INST)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(NETDIR) $(DESTDIR)$(PAMDIR) \
	    $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/aivenauth
	$(INSTALL) -m 0644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libaivenauth.so.$(VERSION)
	ln -sfn libaivenauth.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libaivenauth.so.$(SOVERSION)
	ln -sfn libaivenauth.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libaivenauth.so
	$(INSTALL) -m 0644 $(NET_SO) $(DESTDIR)$(NETDIR)/aivenauth-net.so
	$(INSTALL) -m 0644 $(PAM_SO) $(DESTDIR)$(PAMDIR)/pam_aiven.so
	$(INSTALL) -m 0644 libaivenauth/include/aivenauth.h $(DESTDIR)$(INCLUDEDIR)/aivenauth.h
	$(INSTALL) -m 0644 libaivenauth/include/aivenauth_fleet.h $(DESTDIR)$(INCLUDEDIR)/aivenauth_fleet.h
	$(INSTALL) -m 0644 $(PC) $(DESTDIR)$(PKGCONFIGDIR)/aivenauth.pc
	$(INSTALL) -m 0755 $(CTL_INST) $(DESTDIR)$(SBINDIR)/aivenctl
	$(INSTALL) -m 0755 $(SASLD) $(DESTDIR)$(SBINDIR)/aivenauth-saslauthd
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    $(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	printf '.so man3/libaivenauth.3\n' > $(DESTDIR)$(MANDIR)/man3/aivenauth.3
	chmod 0644 $(DESTDIR)$(MANDIR)/man3/aivenauth.3
	for u in $(SYSTEMD_UNITS); do \
	    sed -e 's|/usr/sbin/aivenctl|$(SBINDIR)/aivenctl|g' \
	        -e 's|/usr/sbin/aivenauth-saslauthd|$(SBINDIR)/aivenauth-saslauthd|g' \
	        -e 's|/etc/aivenauth/|$(SYSCONFDIR)/aivenauth/|g' $$u \
	        > $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
	    chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; done
	$(INSTALL) -m 0644 systemd/aivenauth.sysusers $(DESTDIR)$(SYSUSERSDIR)/aivenauth.conf
	$(INSTALL) -m 0644 systemd/aivenauth.tmpfiles $(DESTDIR)$(TMPFILESDIR)/aivenauth.conf
	$(INSTALL) -m 0644 completion/aivenctl.bash $(DESTDIR)$(BASHCOMPDIR)/aivenctl
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	    ldconfig; fi

.PHONY: uninstall
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libaivenauth.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/libaivenauth.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libaivenauth.so $(DESTDIR)$(NETDIR)/aivenauth-net.so \
	    $(DESTDIR)$(PAMDIR)/pam_aiven.so $(DESTDIR)$(INCLUDEDIR)/aivenauth.h \
	    $(DESTDIR)$(INCLUDEDIR)/aivenauth_fleet.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/aivenauth.pc $(DESTDIR)$(SBINDIR)/aivenctl \
	    $(DESTDIR)$(SBINDIR)/aivenauth-saslauthd \
	    $(DESTDIR)$(SYSUSERSDIR)/aivenauth.conf $(DESTDIR)$(TMPFILESDIR)/aivenauth.conf \
	    $(DESTDIR)$(BASHCOMPDIR)/aivenctl
	for u in $(SYSTEMD_UNITS); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}; done
	for m in $(MAN_PAGES); do s=$${m##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -f $(DESTDIR)$(MANDIR)/man3/aivenauth.3
	-rmdir $(DESTDIR)$(NETDIR) $(DESTDIR)$(SYSCONFDIR)/aivenauth 2>/dev/null

# Debian packages (dpkg-buildpackage; slow, not part of make check).
.PHONY: deb
deb:
	@tools/build-deb

.PHONY: clean
clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
