#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# make install and make uninstall into a DESTDIR, as a packager runs them:
# whatever the umask, programs are 755 and everything else 644; every tool,
# page and completion in the tree is installed, where Debian looks for it.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
O=$(cd "$EVKIT_BIN/.." && pwd)

# mk ARGS...: make in the tree with the build under test (already built:
# install only copies).
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" --no-print-directory O="$O" SANFLAGS="$(sanflags)" "$@"
}

@test "make install under umask 077 into DESTDIR with PREFIX=/usr; make uninstall leaves no file" {
	d="$T/dest"
	(umask 077 && mk install DESTDIR="$d" PREFIX=/usr)
	cd "$ROOT"
	want=()
	for c in cmd/*.c; do
		t=$(basename "$c" .c)
		want+=("usr/bin/$t" "usr/share/man/man1/$t.1" "usr/share/bash-completion/completions/$t"
			"usr/share/zsh/vendor-completions/_$t" "usr/share/fish/vendor_completions.d/$t.fish")
	done
	for m in man/*.[1-8]; do
		want+=("usr/share/man/man${m##*.}/${m#man/}")
	done
	for f in "${want[@]}"; do
		[ -f "$d/$f" ] || { echo "not installed: $f"; false; }
	done
	# nothing else, and nothing twice (the man1 pages were named twice)
	[ "$(cd "$d" && find . -type f | wc -l)" -eq "$(printf '%s\n' "${want[@]}" | sort -u | wc -l)" ]
	cmp "$EVKIT_BIN/evemit" "$d/usr/bin/evemit"
	cmp man/evkit.7 "$d/usr/share/man/man7/evkit.7"
	# modes: programs and directories 755, the rest 644
	bad=$(cd "$d" && find . \( -type d -o -path './usr/bin/*' \) ! -perm 755 -o \
		-type f ! -path './usr/bin/*' ! -perm 644)
	[ -z "$bad" ] || { echo "wrong modes: $bad"; ls -lR "$d"; false; }
	mk uninstall DESTDIR="$d" PREFIX=/usr
	[ -z "$(find "$d" ! -type d)" ] || { find "$d" ! -type d; false; }
}

@test "ZSHCOMPDIR: site-functions for PREFIX=/usr/local, any directory when set" {
	(umask 077 && mk install DESTDIR="$T/local")
	[ -f "$T/local/usr/local/share/zsh/site-functions/_evemit" ]
	[ -f "$T/local/usr/local/bin/evemit" ]
	[ -f "$T/local/usr/local/share/man/man5/ev-spool.5" ]
	mk install DESTDIR="$T/z" PREFIX=/usr ZSHCOMPDIR=/usr/share/zsh/functions/Completion/Evkit
	[ -f "$T/z/usr/share/zsh/functions/Completion/Evkit/_evemit" ]
	[ ! -e "$T/z/usr/share/zsh/vendor-completions" ]
	mk uninstall DESTDIR="$T/local"
	[ -z "$(find "$T/local" ! -type d)" ]
}
