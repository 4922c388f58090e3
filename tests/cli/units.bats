#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The systemd units in contrib/: every long-running tool has a Type=notify
# unit, systemd-analyze verify passes on each and systemd-analyze security
# rates each "OK" or better (an exposure of 3.0 at most).
load helpers

CONTRIB="$BATS_TEST_DIRNAME/../../contrib"

# unit FILE: a copy in $T whose ExecStart runs the built tools (verify wants
# the binaries to exist), named with an instance when it is a template.
unit() {
	local name
	name=$(basename "$1")
	sed "s|/usr/local/bin/|$EVKIT_BIN/|g" "$1" > "$T/$name"
	# A unit's socket goes beside it: verify loads what it names.
	[ ! -e "${1%.service}.socket" ] || cp "${1%.service}.socket" "$T/"
	case $name in
	*@.service) echo "$T/${name%@.service}@shop.service" ;;
	*) echo "$T/$name" ;;
	esac
}

@test "a Type=notify unit in contrib/ for each long-running tool" {
	local t
	for t in evtail evfilter evroute evretry evdedupe; do
		ls "$CONTRIB"/$t*.service > /dev/null
		grep -l '^Type=notify' "$CONTRIB"/$t*.service > /dev/null || { echo "$t: no Type=notify unit"; false; }
	done
	grep -q '^ExecReload=.*-HUP' "$CONTRIB/evroute@.service"
}

@test "systemd-analyze verify passes on every unit in contrib/" {
	command -v systemd-analyze > /dev/null || skip "systemd-analyze is not installed"
	local f u
	for f in "$CONTRIB"/*.service; do
		u=$(unit "$f")
		# --man=no: the man pages need not be installed where the tests run
		run systemd-analyze verify --man=no "$u"
		[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$f: $output"; false; }
	done
}

@test "systemd-analyze security rates every unit in contrib/ at most 3.0" {
	command -v systemd-analyze > /dev/null || skip "systemd-analyze is not installed"
	local f u level
	for f in "$CONTRIB"/*.service; do
		u=$(unit "$f")
		run systemd-analyze security --offline=true --threshold=30 "$u"
		level=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<< "$output")
		echo "$(basename "$f"): $level"
		[ -n "$level" ]
		[ "$status" -eq 0 ]
		awk -v l="$level" 'BEGIN { exit !(l <= 3.0) }'
	done
}
