#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evfilter on JSONTestSuite's parsing corpus: what RFC 8259 rejects is bad
# input (reported, kept in --rejects, exit 2, never a crash); valid objects
# pass through untouched.
load helpers
bats_require_minimum_version 1.5.0

SUITE="$CORPUS/jsontestsuite/test_parsing"

# verbatim FILE...: the files as a sink writes their lines back, each line
# ending in a newline (one sed for all: the shell forks slowly here).
verbatim() {
	LC_ALL=C sed -s -e '$a\' "$@"
}

@test "evfilter reports every n_ case as bad input and keeps it verbatim in --rejects" {
	files=()
	for f in "$SUITE"/n_*.json; do
		# an empty file holds no line at all: there is nothing to reject
		[ -s "$f" ] && files+=("$f")
	done
	[ "${#files[@]}" -eq 187 ]
	run --separate-stderr evfilter --rejects "$T/rejects.ndjson" . "${files[@]}"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	for f in "${files[@]}"; do
		# "evfilter: FILE:1: column 3: unexpected ']'" (or "not a JSON object")
		[[ $stderr == *"evfilter: $f:1: "* ]] || { echo "no report for $f"; return 1; }
	done
	verbatim "${files[@]}" > "$T/expected"
	cmp "$T/expected" "$T/rejects.ndjson"
}

@test "evfilter names the column and the reason of a bad line" {
	run --separate-stderr evfilter . "$SUITE/n_object_trailing_comma.json"
	[ "$status" -eq 2 ]
	[ "$stderr" = "evfilter: $SUITE/n_object_trailing_comma.json:1: column 9: unexpected '}'" ]
	run --separate-stderr evfilter . "$SUITE/n_string_unescaped_ctrl_char.json"
	[ "$status" -eq 2 ]
	[[ $stderr == *":1: column 4: NUL byte in string" ]]
	run --separate-stderr evfilter . "$SUITE/i_string_iso_latin_1.json"
	[ "$status" -eq 2 ]
	[[ $stderr == *":1: column 3: invalid UTF-8" ]]
}

@test "evfilter passes every single-line y_ object through byte for byte" {
	# the files of one line (a final newline or not) that start with '{'
	mapfile -t files < <(LC_ALL=C awk 'FNR == 1 && /^[ \t]*[{]/ { one[FILENAME] = 1 }
	    FNR == 2 { delete one[FILENAME] } END { for (f in one) print f }' "$SUITE"/y_*.json | sort)
	[ "${#files[@]}" -eq 11 ]
	evfilter . "${files[@]}" > "$T/out"
	verbatim "${files[@]}" > "$T/expected"
	cmp "$T/expected" "$T/out"
}

@test "evfilter calls a valid line that is not an object bad input" {
	run --separate-stderr evfilter --rejects "$T/rejects.ndjson" . \
	    "$SUITE/y_array_empty.json" "$SUITE/y_string_unicode.json" "$SUITE/y_structure_lonely_null.json"
	[ "$status" -eq 2 ]
	[ "$(grep -c ':1: not a JSON object$' <<<"$stderr")" -eq 3 ]
	[ "$(lines "$T/rejects.ndjson")" -eq 3 ]
}
