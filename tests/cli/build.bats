#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The Makefile on a machine that lacks libraries, and the one version every
# tool reports. Each test works on a copy of the source tree in $T/src with
# the objects of the build under test (their times kept), so make only
# links: no test here compiles evkit again.
load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BUILD=$(cd "$EVKIT_BIN/.." && pwd)

# tree: the sources in $T/src and the build's objects in $T/src/build/x,
# without its programs.
tree() {
	mkdir -p "$T/src/tests" "$T/src/build"
	cp -a "$ROOT"/Makefile "$ROOT"/VERSION "$ROOT"/NEWS "$ROOT"/cmd "$ROOT"/lib "$ROOT"/contrib "$T/src/"
	cp -a "$BUILD" "$T/src/build/x"
	rm -rf "$T/src/build/x/bin" "$T/src/build/x/unit"
}

# mk ARGS...: make in the copy, untouched by the make that runs these tests.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u NO_DEPS \
		make -C "$T/src" --no-print-directory O=build/x SANFLAGS="$(sanflags)" "$@"
}

@test "make demo where pkg-config finds no library: deps installs them, then the build finds them" {
	tree
	# Before "deps" runs, pkg-config knows of nothing; deps then puts every
	# .pc file in place, as apt-get would. A make that looked the libraries
	# up before deps (as it once did) links without -lrabbitmq and fails.
	mkdir "$T/pc"
	pcdir=$(pkg-config --variable pcfiledir librabbitmq)
	PKG_CONFIG_LIBDIR="$T/pc" run mk demo DEPS="cp $pcdir/*.pc $T/pc/"
	[ "$status" -eq 0 ] || { echo "$output" | tail -n 30; false; }
	[[ "$output" == *"-lrabbitmq"* ]]
	[[ "$output" == *"demo: every step ran as expected"* ]]
}

@test "a library that pkg-config cannot find stops the build at once, naming it and its package" {
	tree
	mkdir "$T/pc"
	PKG_CONFIG_LIBDIR="$T/pc" run mk all
	[ "$status" -eq 2 ]
	[[ "$output" == *"evkit: librabbitmq not found (Debian package librabbitmq-dev)"* ]]
	[[ "$output" == *"evkit: libxxhash not found (Debian package libxxhash-dev)"* ]]
	[[ "$output" == *"make deps installs what is missing"* ]]
	[ ! -e "$T/src/build/x/bin" ]
}

@test "without libcsv the build stops and says how to go without; CSV=no builds an evemit whose --csv says so" {
	tree
	# A system root whose /usr/include has everything but csv.h.
	mkdir -p "$T/root/usr/include"
	for f in /usr/include/*; do
		[ "$f" = /usr/include/csv.h ] || ln -s "$f" "$T/root/usr/include/"
	done
	ln -s /usr/lib "$T/root/usr/lib"
	ln -s /usr/lib "$T/root/lib"
	[ ! -e /lib64 ] || ln -s /lib64 "$T/root/lib64"
	run mk all CC="cc --sysroot=$T/root"
	[ "$status" -eq 2 ] || { echo "$output"; false; }
	[[ "$output" == *"evkit: csv.h not found (Debian package libcsv-dev)"* ]]
	[[ "$output" == *"or build without CSV input: make CSV=no"* ]]
	[ ! -e "$T/src/build/x/bin" ]
	# the two objects that differ without libcsv are compiled again
	rm "$T/src/build/x/lib/event/csvin.o" "$T/src/build/x/cmd/evemit.o" "$T/src/build/x/lib/libevkit.a"
	run mk all CC="cc --sysroot=$T/root" CSV=no
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" != *"-lcsv"* ]]
	printf 'sku,qty\nA-1,5\n' > "$T/stock.csv"
	run "$T/src/build/x/bin/evemit" --csv -i "$T/stock.csv" stock.level
	[ "$status" -eq 2 ]
	[ "$output" = "evemit: --csv: this evemit was built without libcsv (make CSV=no); build it with libcsv-dev installed" ]
	run "$T/src/build/x/bin/evemit" -l t <<< '{"n":1}'
	[ "$status" -eq 0 ]
}

@test "every tool's --version is the one version: VERSION, NEWS's first entry, make version" {
	want=$(env -u MAKEFLAGS -u MAKELEVEL make -s -C "$ROOT" --no-print-directory version)
	[ -n "$want" ]
	n=0
	for t in "$ROOT"/cmd/*.c; do
		t=$(basename "$t" .c)
		run "$EVKIT_BIN/$t" --version
		[ "$status" -eq 0 ]
		[ "$output" = "$t (evkit) $want" ] || { echo "$t: $output, not $want"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 7 ]
	v=$(cat "$ROOT/VERSION")
	[[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]
	[ "$(awk '/^evkit [0-9]/ { print $2; exit }' "$ROOT/NEWS")" = "$v" ]
	# a build from git says how far it is from the last tag; else VERSION
	[[ "$want" == "$v" || "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]
}

@test "make version: a v* git tag when there is one, else the VERSION file" {
	mkdir "$T/src"
	cp "$ROOT/Makefile" "$T/src/"
	echo 7.7.7 > "$T/src/VERSION"
	cd "$T/src"
	[ "$(mk -s version)" = 7.7.7 ]
	git init -q .
	git add Makefile VERSION
	git -c user.name=t -c user.email=t@example.com commit -q -m one
	[ "$(mk -s version)" = 7.7.7 ]
	git tag v8.0.0
	[ "$(mk -s version)" = 8.0.0 ]
	git -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m two
	[[ "$(mk -s version)" == 8.0.0-1-g* ]]
	echo x >> VERSION
	[[ "$(mk -s version)" == 8.0.0-1-g*-dirty ]]
}
