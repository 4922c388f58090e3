#!/bin/sh
# SPDX-License-Identifier: ISC
# Run libFuzzer harnesses: run.sh [-s | -t SECONDS] BINDIR NAME...
#   -s          smoke (make check): replay the seed corpus tests/fuzz/NAME/,
#               then SMOKE seconds (default 4) of new inputs
#   -t SECONDS  fuzz each harness that long (make fuzz); inputs that reach new
#               code go to build/fuzz/corpus/NAME (copy the good ones to the
#               seed corpus by hand)
# A harness may have a dictionary, tests/fuzz/NAME.dict, and more libFuzzer
# flags in tests/fuzz/NAME.args (one line; they come last, so they win).
# A crash leaves its input in build/fuzz/crash/ and fails the run: make it a
# regression test by adding it to tests/fuzz/NAME/ once it is fixed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
mode=smoke time=${SMOKE:-4}
while getopts st: o; do
	case $o in
	s) mode=smoke ;;
	t) mode=fuzz time=$OPTARG ;;
	*) echo "usage: run.sh [-s | -t seconds] bindir name..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: run.sh [-s | -t seconds] bindir name..." >&2; exit 2; }
bin=$1; shift
out=build/fuzz
mkdir -p "$out/crash"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for name in "$@"; do
	seeds=$here/$name
	dict=""
	[ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
	args=""
	[ -f "$here/$name.args" ] && args=$(cat "$here/$name.args")
	if [ "$mode" = smoke ]; then
		new=$(mktemp -d "${TMPDIR:-/tmp}/evfuzz.XXXXXX")
	else
		new=$out/corpus/$name
		mkdir -p "$new"
	fi
	log=$out/$name.log
	# shellcheck disable=SC2086 # $dict is one word or none, $args flags
	"$bin/$name" -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
	    -print_final_stats=1 -artifact_prefix="$out/crash/$name-" $dict $args "$new" "$seeds" \
	    > "$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz $name: ok, ${runs:-?} runs in ${time}s, $cov"
	else
		echo "fuzz $name: FAILED (exit $rc), see $log and $out/crash/:"
		grep -E 'ERROR|SUMMARY|runtime error|\.c:[0-9]+: ' "$log" | head -5
		status=1
	fi
	[ "$mode" = smoke ] && rm -rf "$new"
done
exit $status
