#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Every tool found in cmd/: --help lists every option with a one-line
# description, and the same options, no more and no fewer, are in its man
# page and in its bash, zsh and fish completions. --help is generated from
# the tool's getopt table (ev_opts_doc), so this is what the tool accepts.
load helpers
bats_require_minimum_version 1.5.0

TOP="$BATS_TEST_DIRNAME/../.."

tools() {
	local f
	for f in "$TOP"/cmd/*.c; do [ -e "$f" ] && basename "$f" .c; done
	for f in "$TOP"/cmd/*/; do [ -d "$f" ] && basename "$f"; done
	return 0
}

# Each extractor prints the options it finds, -x and --long, one a line, sorted.
help_opts() {
	"$1" --help | sed -nE 's/^  (-([[:alnum:]]), |    )--([[:alnum:]][[:alnum:]-]*).*/-\2 --\3/p' |
	    tr ' ' '\n' | grep -v '^-$' | sort -u
}

man_opts() {
	awk '/^\.It Xo/ { xo = 1; next } xo && /^\.Xc/ { xo = 0 } xo || /^\.It Fl /' \
	    "$TOP/man/$1.1" | grep -oE 'Fl \\?-?[[:alnum:]][[:alnum:]-]*' |
	    sed -E 's/^Fl \\?/-/' | sort -u
}

# What bash offers for "-" and "--": the completion function itself is run.
bash_opts() {
	bash -c '
		for f in /usr/share/bash-completion/bash_completion; do
			[ -r "$f" ] && . "$f" 2>/dev/null
		done
		. "$1" || exit 1
		fn=$(complete -p "$2" | sed -E "s/.* -F ([^ ]+) .*/\1/")
		for cur in - --; do
			COMP_WORDS=("$2" "$cur") COMP_CWORD=1 COMP_LINE="$2 $cur"
			COMP_POINT=${#COMP_LINE} COMPREPLY=()
			"$fn" "$2" "$cur" "$2"
			printf "%s\n" "${COMPREPLY[@]}"
		done' bash "$TOP/completions/bash/$1" "$1" |
	    sed 's/=.*//' | grep -E '^--?[[:alnum:]]' | sort -u
}

zsh_opts() {
	grep -v '^#' "$TOP/completions/zsh/_$1" | sed -E 's/\[[^]]*\]//g' |
	    perl -ne 'while (/\{([^}]*)\}/g) { print "$_\n" for split /,/, $1 }
		while (/\x27(?:\([^)]*\))?\*?(--?[[:alnum:]][[:alnum:]-]*)/g) { print "$1\n" }' |
	    sed -E 's/[+=-]*$//' | grep -E '^--?[[:alnum:]]' | sort -u
}

fish_opts() {
	grep -E '^complete ' "$TOP/completions/fish/$1.fish" |
	    grep -oE ' -[slo] [[:alnum:]][[:alnum:]-]*' |
	    sed -E 's/^ -s /-/; s/^ -[lo] /--/' | sort -u
}

@test "every tool in cmd/: --help, man page and completions list the same options" {
	local t n=0 fail=0 src
	for t in $(tools); do
		n=$((n + 1))
		command -v "$t" > /dev/null || { echo "$t: not built"; fail=1; continue; }
		help_opts "$t" > "$T/$t.help"
		[ "$(wc -l < "$T/$t.help")" -ge 6 ] || { echo "$t --help lists no options"; fail=1; }
		for src in man bash zsh fish; do
			"${src}_opts" "$t" > "$T/$t.$src" 2>/dev/null || true
			if ! diff -u --label "$t --help" --label "$t: $src" "$T/$t.help" "$T/$t.$src"; then
				fail=1
			fi
		done
	done
	[ "$n" -ge 7 ]
	[ "$fail" -eq 0 ]
}

@test "every option line of --help has a description and fits in 80 columns" {
	local t
	for t in $(tools); do
		"$t" --help > "$T/h"
		awk -v t="$t" '
			length > 80 { print t ": longer than 80 columns: " $0; bad = 1 }
			/^Options:/ { on = 1; next }
			on && /^  -/ { if (pending) { print t ": no description: " pending; bad = 1 }
				pending = $0; if ($0 ~ /[^ ]  +[^ ]/ && $0 !~ /^  (-., )?--[^ ]+ [^ ]+$/) pending = ""
				next }
			on && /^       +[^ ]/ && pending { pending = ""; next }
			on && /^$/ { on = 0 }
			END { if (pending) { print t ": no description: " pending; bad = 1 }; exit bad }
		' "$T/h"
	done
}

@test "every tool: --help to stdout, exit 0; a usage error: the same usage to stderr, exit 2" {
	local t
	for t in $(tools); do
		run --separate-stderr "$t" --help
		[ "$status" -eq 0 ] || { echo "$t --help: status $status"; false; }
		[ -z "$stderr" ] || { echo "$t --help wrote to stderr: $stderr"; false; }
		[[ "${lines[0]}" == "usage: $t "* ]] || { echo "$t --help: ${lines[0]}"; false; }
		[[ "$output" == *"See $t(1)." ]]
		sed -n '/^usage:/,/^[^ u]/p' <<< "$output" | sed '$d' > "$T/usage.help"
		run --separate-stderr "$t" --no-such-option
		[ "$status" -eq 2 ] || { echo "$t --no-such-option: status $status"; false; }
		[ -z "$output" ]
		grep -A100 '^usage:' <<< "$stderr" > "$T/usage.err"
		diff "$T/usage.help" "$T/usage.err"
		# a full disk is an error, not a truncated help
		if "$t" --help > /dev/full 2> /dev/null; then
			echo "$t --help > /dev/full: status 0"; false
		fi
	done
}

@test "mandoc -Tlint is clean on every man page" {
	command -v mandoc > /dev/null || skip "mandoc is not installed"
	run mandoc -Tlint -W warning "$TOP"/man/*.[157]
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
