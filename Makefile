# SPDX-License-Identifier: ISC
# evkit — see README.md. Targets: all check test install uninstall clean deps demo bench
# version crash-fold fuzz fuzzers torture.
PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
DATADIR = $(PREFIX)/share
MANDIR  = $(DATADIR)/man
BASHCOMPDIR = $(DATADIR)/bash-completion/completions
# Debian's zsh reads packages' completions from vendor-completions only.
ZSHCOMPDIR  = $(DATADIR)/zsh/$(if $(filter /usr,$(PREFIX)),vendor-completions,site-functions)
FISHCOMPDIR = $(DATADIR)/fish/vendor_completions.d
O       = build/rel
# CSV=no builds without libcsv: evemit --csv then says so and exits 2.
CSV     = yes
# How deps installs what is missing; NO_DEPS=1 installs nothing.
DEPS    = sh tests/deps.sh

# The version: `git describe` of a v* tag in a git checkout, else the VERSION file.
VERSION := $(or $(shell test -e .git && git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//'),$(shell cat VERSION))
TOOLS   := $(basename $(notdir $(wildcard cmd/*.c)))
LIBSRC  := $(wildcard lib/*/*.c)
UNITSRC := $(wildcard tests/unit/*.c)
FUZZ    := $(basename $(notdir $(wildcard tests/fuzz/*.c)))
FUZZTIME = 60
KILLS    = 1000
GROUP_EVENTS = 200000
GROUP_KILLS  = 100

# Libraries, as name:Debian-package; PKGS are found with pkg-config, HDRS by
# their header. Looked up when make reads this file: that is why demo, check
# and bench build in a new make once deps has installed them.
PKGS    := libxxhash:libxxhash-dev librabbitmq:librabbitmq-dev libsodium:libsodium-dev sqlite3:libsqlite3-dev \
	libcurl:libcurl4-openssl-dev libmicrohttpd:libmicrohttpd-dev gnutls:libgnutls28-dev libsystemd:libsystemd-dev \
	oniguruma:libonig-dev
HDRS    := jq.h:libjq-dev $(if $(filter yes,$(CSV)),csv.h:libcsv-dev)
name     = $(firstword $(subst :, ,$1))
MISSING := $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(call name,$p) 2>/dev/null && echo y),,$p)) \
	$(foreach h,$(HDRS),$(if $(shell printf '\043include <%s>\n' $(call name,$h) | \
		$(CC) $(CPPFLAGS) -E -x c - > /dev/null 2>&1 && echo y),,$h))

override CPPFLAGS := -iquote lib -D_GNU_SOURCE -DEV_VERSION='"$(VERSION)"' \
	$(if $(filter yes,$(CSV)),-DHAVE_LIBCSV) $(CPPFLAGS)
override CFLAGS := -std=c17 -Wall -Wextra -g -O2 -MMD -MP \
	$(shell pkg-config --cflags $(foreach p,$(PKGS),$(call name,$p)) 2>/dev/null) $(CFLAGS) $(SANFLAGS)
LDLIBS  := -ljq $(if $(filter yes,$(CSV)),-lcsv) \
	$(shell pkg-config --libs $(foreach p,$(PKGS),$(call name,$p)) 2>/dev/null) -lm -lpthread
# float-cast-overflow: gcc leaves it out of "undefined" (clang has it in)
SAN     := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

LIBOBJ  := $(LIBSRC:%.c=$(O)/%.o) $(O)/gen/http/page.o
BINS    := $(TOOLS:%=$(O)/bin/%)
MANPAGES := $(wildcard man/*.[1-8])
BASHCOMP := $(wildcard completions/bash/ev*)
ZSHCOMP  := $(wildcard completions/zsh/_ev*)
FISHCOMP := $(wildcard completions/fish/ev*.fish)

all: $(BINS)

libs:
	@[ -z "$(strip $(MISSING))" ] || { for m in $(MISSING); do \
		echo "evkit: $${m%%:*} not found (Debian package $${m#*:})"; done; \
	echo "evkit: make deps installs what is missing (Debian); or install it yourself$(if \
		$(filter csv.h:%,$(MISSING)),; or build without CSV input: make CSV=no)"; exit 1; } >&2

$(O)/%.o: %.c | libs
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The live page (lib/http/page.h), HTML in a file, built in as a C string.
$(O)/gen/http/page.c: lib/http/page.html
	@mkdir -p $(@D)
	{ echo '#include "http/page.h"'; echo 'const char ev_http_page[] ='; \
	  sed 's/\\/\\\\/g; s/"/\\"/g; s/?/\\?/g; s/^/"/; s/$$/\\n"/' $<; \
	  echo ';'; echo 'const size_t ev_http_page_len = sizeof ev_http_page - 1;'; } > $@

$(O)/gen/http/page.o: $(O)/gen/http/page.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Rewritten only when the version changes, so that opts.o is compiled again.
$(O)/VERSION: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
$(O)/lib/base/opts.o: $(O)/VERSION

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
	@$(if $(NO_DEPS),:,$(DEPS))

# The libraries a program linked with libevkit.a needs (bench/ builds one).
ldlibs:
	@echo '$(LDLIBS)'

# demo, check and bench install what is missing first, then build in a new
# make, which finds what deps installed.
demo: deps
	@$(MAKE) --no-print-directory all
	@sh contrib/demo.sh $(O)/bin

check: deps
	@$(MAKE) --no-print-directory test

# The tests, installing nothing (for packagers). They run the sanitized
# build: a leak, an overflow or UB fails them.
test:
	$(MAKE) O=build/san SANFLAGS='$(SAN)' all build/san/unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 build/san/unit --jobs=2
	EVKIT_BIN=$(CURDIR)/build/san/bin bats --jobs 2 tests/cli
	$(MAKE) fuzzers
	sh tests/fuzz/run.sh -s build/fuzz/fuzz $(FUZZ)

# Each harness for FUZZTIME seconds; new crashes are left in build/fuzz/crash.
fuzz: deps
	@$(MAKE) --no-print-directory fuzzers
	sh tests/fuzz/run.sh -t $(FUZZTIME) build/fuzz/fuzz $(FUZZ)

# A four-stage spool pipeline under KILLS random SIGKILLs, then a full disk;
# then four members of a consumer group under GROUP_KILLS random SIGKILLs
# over GROUP_EVENTS events (make check runs both scaled down).
torture: deps
	@$(MAKE) --no-print-directory all
	sh tests/torture.sh -k $(KILLS) $(O)/bin
	PATH="$(CURDIR)/$(O)/bin:$$PATH" sh tests/group-kill.sh $(O)/torture-group $(GROUP_EVENTS) $(GROUP_KILLS) 4

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run $(O)/bin

version:
	@echo $(VERSION)

# evfold's exactly-once test at full size: 200,000 events, a hundred SIGKILLs.
crash-fold: all
	PATH=$(CURDIR)/$(O)/bin:$$PATH bash tests/evfold-crash.sh 200000 100 $$(mktemp -d)

install: all
	umask 022 && install -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
		$(sort $(foreach m,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $m))))
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	$(foreach m,$(MANPAGES),install -m 644 $m $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $m)) &&) :
	install -m 644 $(BASHCOMP) $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 $(ZSHCOMP) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 644 $(FISHCOMP) $(DESTDIR)$(FISHCOMPDIR)

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) \
		$(foreach m,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $m))/$(notdir $m)) \
		$(BASHCOMP:completions/bash/%=$(DESTDIR)$(BASHCOMPDIR)/%) \
		$(ZSHCOMP:completions/zsh/%=$(DESTDIR)$(ZSHCOMPDIR)/%) \
		$(FISHCOMP:completions/fish/%=$(DESTDIR)$(FISHCOMPDIR)/%)

clean:
	rm -rf build demo

-include $(shell find build -name '*.d' 2>/dev/null)

.SECONDARY:
.PHONY: all ldlibs libs check test deps demo bench version crash-fold fuzz fuzzers torture install uninstall \
	clean FORCE
