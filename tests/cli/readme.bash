# SPDX-License-Identifier: ISC
# The shell blocks of README.md, as tests run them (readme.bats; the blocks
# that need a RabbitMQ broker run in amqp.bats, which has one).
#
# The convention, also written at the top of README.md's source:
# - a shell block is an indented (4-space) block whose first line is a
#   command: "$ command", or "NAME$ command" for a command run on machine
#   NAME (the test runs them all in one place). Every indented block is one.
# - it runs as written, with bash, in a new empty directory, with the built
#   tools first in PATH: it makes its own inputs.
# - continuation lines (after a "\") and here-document lines are part of
#   the command; every other line is output. When a block shows output, the
#   output of its commands (stdout and stderr) must be those lines, where
#   "…" stands for any text within a line, and a line that is only "…" for
#   any number of lines; a block that shows none is not compared.
# - every command must succeed (status 0), except one followed by
#   "$ echo $?", which shows its status.
# - a block that needs a broker names it "$BROKER" (the prose tells the
#   reader to set it); the test sets BROKER to the test broker's URL.
# - background jobs still running at the end of a block are killed.

README="$BATS_TEST_DIRNAME/../../README.md"

# readme_blocks: the number of shell blocks in README.md.
readme_blocks() {
	readme_awk count
}

# readme_block N: block N in $T/block.sh (the commands, each followed by
# its status check) and $T/block.out (the output it shows).
readme_block() {
	readme_awk "$1" > "$T/block.sh"
}

readme_awk() {
	awk -v want="$1" -v out="$T/block.out" '
	function flush(next_cmd) {
		if (pending == "")
			return
		if (next_cmd == "echo $?")
			print "__shows_status $?"
		else
			printf "__must_succeed $? %s\n", quote(pending)
		pending = ""
	}
	function quote(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
	function endblock() {
		if (inb && n == want) { flush(""); print "__end_of_block" }
		inb = 0
	}
	BEGIN { if (want != "count") printf "" > out }
	{
		indented = substr($0, 1, 4) == "    "
		if (inb && !indented && $0 !~ /^[ \t]*$/) endblock()
		if (!inb && indented && prevblank) { inb = 1; n++; heredoc = ""; cont = 0 }
		prevblank = $0 ~ /^[ \t]*$/
		if (!inb || n != want || prevblank) next
		line = substr($0, 5)
		if (heredoc != "") { print line; if (line == heredoc) heredoc = ""; next }
		if (cont) { print line; cont = line ~ /\\$/; next }
		if (match(line, /^[a-z]*\$ /)) {
			cmd = substr(line, RLENGTH + 1)
			flush(cmd)
			print cmd
			pending = cmd
			cont = cmd ~ /\\$/
			if (match(cmd, /<<-?\047?[A-Z]+/)) {
				heredoc = substr(cmd, RSTART, RLENGTH)
				gsub(/[^A-Z]/, "", heredoc)
			}
			next
		}
		print line > out
	}
	END { endblock(); if (want == "count") print n }' "$README"
}

# readme_run DIR: run $T/block.sh in DIR and compare what it printed with
# $T/block.out when that shows anything.
readme_run() {
	local dir=$1
	mkdir -p "$dir"
	{
		cat <<-'EOF'
		__must_succeed() {
			[ "$1" -eq 0 ] || { echo "README: status $1 from: $2" >&2; exit 1; }
		}
		__shows_status() { return "$1"; }
		__end_of_block() {
			kill $(jobs -p) 2> /dev/null
			wait 2> /dev/null
			exit 0
		}
		EOF
		cat "$T/block.sh"
	} > "$T/run.sh"
	(cd "$dir" && bash "$T/run.sh") > "$T/got.raw" 2>&1 || {
		echo "README block failed; its script:"; cat "$T/block.sh"; echo "its output:"; cat "$T/got.raw"
		return 1
	}
	# the shell's notes about the jobs a block killed are not the tools' output
	grep -v -E "^$T/run.sh: line [0-9]+: +[0-9]+ (Killed|Terminated)" "$T/got.raw" > "$T/got" || true
	[ -s "$T/block.out" ] || return 0
	readme_match "$T/block.out" "$T/got" || {
		echo "README block printed something else; its script:"; cat "$T/block.sh"
		diff -u "$T/block.out" "$T/got"
		return 1
	}
}

# readme_match WANT GOT: GOT matches WANT line by line, where "…" in a line
# stands for any text, and a line that is only "…" for any number of lines.
readme_match() {
	perl -CSD -Mutf8 -e '
		local $/;
		open(my $w, "<", $ARGV[0]) or die; my $want = <$w>;
		open(my $g, "<", $ARGV[1]) or die; my $got = <$g>;
		my $re = join "", map {
			$_ eq "…" ? "(?:[^\\n]*\\n)*"
			: join("[^\\n]*", map { quotemeta } split(/…/, $_, -1)) . "\\n"
		} split(/\n/, $want);
		exit($got =~ /\A$re\z/ ? 0 : 1);
	' "$1" "$2"
}
