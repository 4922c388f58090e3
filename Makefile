# SPDX-License-Identifier: ISC
# evkit — see README.md. Targets: all check install uninstall clean deps demo bench
# crash-fold fuzz torture.
PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share
O       = build/rel

VERSION := 0.1.0
TOOLS   := $(basename $(notdir $(wildcard cmd/*.c)))
LIBSRC  := $(wildcard lib/*/*.c)
UNITSRC := $(wildcard tests/unit/*.c)
FUZZ    := $(basename $(notdir $(wildcard tests/fuzz/*.c)))
FUZZTIME = 60
KILLS    = 1000

# Optional libraries are used when their headers are present.
HAVE_CSV := $(shell test -e /usr/include/csv.h && echo 1)

override CPPFLAGS := -iquote lib -D_GNU_SOURCE -DEV_VERSION='"$(VERSION)"' \
	$(if $(HAVE_CSV),-DHAVE_LIBCSV) $(CPPFLAGS)
override CFLAGS := -std=c17 -Wall -Wextra -g -O2 -MMD -MP \
	$(shell pkg-config --cflags libxxhash librabbitmq libsodium sqlite3 2>/dev/null) $(CFLAGS) $(SANFLAGS)
LDLIBS  := -ljq $(if $(HAVE_CSV),-lcsv) \
	$(shell pkg-config --libs libxxhash librabbitmq libsodium sqlite3 2>/dev/null) -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIBOBJ  := $(LIBSRC:%.c=$(O)/%.o)
BINS    := $(TOOLS:%=$(O)/bin/%)

all: $(BINS)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/lib/libevkit.a: $(LIBOBJ)
	rm -f $@ && $(AR) rcs $@ $(LIBOBJ)

$(O)/bin/%: $(O)/cmd/%.o $(O)/lib/libevkit.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/unit: $(UNITSRC:%.c=$(O)/%.o) $(O)/lib/libevkit.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs criterion)

# libFuzzer harnesses (tests/fuzz), built by clang with ASan and UBSan.
$(O)/fuzz/%: $(O)/tests/fuzz/%.o $(O)/lib/libevkit.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzzers:
	$(MAKE) O=build/fuzz CC=clang SANFLAGS='$(SAN) -fsanitize=fuzzer-no-link' \
		$(FUZZ:%=build/fuzz/fuzz/%)

deps:
	@sh tests/deps.sh

# The tests run the sanitized build: a leak, an overflow or UB fails them.
check: deps
	$(MAKE) O=build/san SANFLAGS='$(SAN)' all build/san/unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 build/san/unit --jobs=2
	EVKIT_BIN=$(CURDIR)/build/san/bin bats --jobs 2 tests/cli
	$(MAKE) fuzzers
	sh tests/fuzz/run.sh -s build/fuzz/fuzz $(FUZZ)

# Each harness for FUZZTIME seconds; new crashes are left in build/fuzz/crash.
fuzz: deps fuzzers
	sh tests/fuzz/run.sh -t $(FUZZTIME) build/fuzz/fuzz $(FUZZ)

# A four-stage spool pipeline under KILLS random SIGKILLs, then a full disk.
torture: deps all
	sh tests/torture.sh -k $(KILLS) $(O)/bin

# evfold's exactly-once test at full size: 200,000 events, a hundred SIGKILLs.
crash-fold: all
	PATH=$(CURDIR)/$(O)/bin:$$PATH bash tests/evfold-crash.sh 200000 100 $$(mktemp -d)

demo: deps all
	@sh contrib/demo.sh $(O)/bin

bench: deps all
	@sh bench/run $(O)/bin

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)/bash-completion/completions \
		$(DESTDIR)$(DATADIR)/zsh/site-functions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	cp $(BINS) $(DESTDIR)$(BINDIR)/
	for m in man/*.[157]; do cp $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	cp completions/bash/* $(DESTDIR)$(DATADIR)/bash-completion/completions/
	cp completions/zsh/* $(DESTDIR)$(DATADIR)/zsh/site-functions/
	cp completions/fish/* $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/$$t \
		$(DESTDIR)$(DATADIR)/zsh/site-functions/_$$t \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$t.fish; done
	for m in man/*.[157]; do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done

clean:
	rm -rf build demo

-include $(shell find build -name '*.d' 2>/dev/null)

.SECONDARY:
.PHONY: all check crash-fold deps demo bench install uninstall clean fuzz fuzzers torture
