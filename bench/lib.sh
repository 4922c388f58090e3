# bench/lib.sh — the timing harness for bench/run (POSIX sh).
#   row GROUP NAME INPUT CMD   time `sh -c CMD < INPUT` RUNS times (default 3);
#                              records median wall time and peak RSS.
# The first row of a GROUP is the baseline its ratio is computed against.
# The corpus is $EVENTS (BENCH_N events from ../shared/bench/gen-events.sh),
# $DUPS the same with 10% duplicates; $W is a scratch directory.
RUNS=${BENCH_RUNS:-3}
bench_setup() {
	N=${BENCH_N:-1000000}
	W=${BENCH_DIR:-/tmp/evkit-bench}
	mkdir -p "$W"
	GEN="$HERE/../../shared/bench/gen-events.sh"
	[ -x "$GEN" ] || GEN="$HERE/gen-events.sh"
	EVENTS="$W/events-$N.ndjson"
	DUPS="$W/dups-$N.ndjson"
	[ -s "$EVENTS" ] || bash "$GEN" "$N" 0 1 > "$EVENTS"
	[ -s "$DUPS" ] || bash "$GEN" "$N" 10 2 > "$DUPS"
	RESULTS="$W/results.tsv"
	: > "$RESULTS"
	export N W EVENTS DUPS
}
# one_run INPUT CMD: prints "seconds maxrss_kb"
one_run() {
	/usr/bin/time -f '%e %M' -o "$W/time.out" sh -c "$2" < "$1" > /dev/null 2>"$W/stderr.out" || true
	cat "$W/time.out"
}
row() {
	group=$1 name=$2 input=$3 cmd=$4
	n=${ROW_EVENTS:-$N}
	bytes=$(wc -c < "$input")
	times="" rss=0
	i=0
	while [ $i -lt "$RUNS" ]; do
		set -- $(one_run "$input" "$cmd" | tail -n 1)
		times="$times $1"
		[ "$2" -gt "$rss" ] && rss=$2
		i=$((i + 1))
	done
	med=$(printf '%s\n' $times | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$name" "$med" "$n" "$bytes" "$rss" >> "$RESULTS"
}
bench_table() {
	awk -F '\t' '
	BEGIN { printf "%-10s %-44s %9s %12s %9s %8s %9s\n", "group", "command", "median s", "events/s", "MB/s", "ratio", "RSS MiB" }
	{
		if (!($1 in base)) base[$1] = $3
		t = $3 > 0 ? $3 : 0.001
		printf "%-10s %-44s %9.3f %12.0f %9.1f %7.2fx %9.1f\n", $1, substr($2, 1, 44), $3, $4 / t, $5 / t / 1e6, base[$1] / t, $6 / 1024
	}' "$RESULTS"
}
