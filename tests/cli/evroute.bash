# SPDX-License-Identifier: ISC
# Shared by evroute.bats and amqp.bats: the examples of evroute(1).

# man_example N: the Nth literal block under EXAMPLES in evroute(1), split
# into $T/script (the "$ " commands, continuations and here-documents) and
# $T/expected (the other lines: what the commands print).
man_example() {
	: > "$T/script"
	: > "$T/expected"
	awk -v want="$1" -v dir="$T" '
	/^\.Sh EXAMPLES/ { ex = 1; next }
	/^\.Sh / { ex = 0 }
	ex && /^\.Bd -literal/ { n++; inb = (n == want); next }
	inb && /^\.Ed/ { inb = 0; next }
	inb {
		gsub(/\\e/, "\\")
		if (heredoc != "") { print > (dir "/script"); if ($0 == heredoc) heredoc = ""; next }
		if (cont) { print > (dir "/script"); cont = /\\$/; next }
		if (substr($0, 1, 2) == "$ ") {
			line = substr($0, 3)
			print line > (dir "/script")
			cont = line ~ /\\$/
			if (match(line, /<<.?[A-Z]+/)) { h = substr(line, RSTART + 2, RLENGTH - 2); gsub(/[^A-Z]/, "", h); heredoc = h }
			next
		}
		print > (dir "/expected")
	}' "$BATS_TEST_DIRNAME/../../man/evroute.1"
}
