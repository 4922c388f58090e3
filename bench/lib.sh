# SPDX-License-Identifier: ISC
# bench/lib.sh — the timing harness for bench/run (POSIX sh).
#
#   row GROUP NAME INPUT CMD
#
# times `sh -c CMD < INPUT > file` BENCH_RUNS times (default 3) and records
# the median wall time and the peak RSS. Standard output goes to a regular
# file, never /dev/null: GNU grep stops at the first match when it sees its
# output is /dev/null, and a tool could skip its work the same way.
#
# Before the timed runs, CMD runs once on a sample, the first BENCH_CHECK_N
# lines of INPUT (default 10000), and the size of its result is checked,
# untimed: the lines of its standard output, unless ROW_COUNT says how to
# count. The first row of a GROUP is its baseline, the tool a user would
# otherwise run; the other rows are checked on as many lines as it was, and
# must give its count unless ROW_EXPECT says otherwise. A baseline that
# gives 0 fails unless ROW_EXPECT=0. Every run must exit 0. A row that
# fails is shown as FAILED in the table and makes bench/run exit 1, so that
# a broken command cannot show up as a fast row.
#
# Knobs for the next row only (row unsets them):
#   ROW_SETUP   shell code run before every run of CMD, untimed (a fresh
#               destination, a state file removed, ...)
#   ROW_COUNT   shell code printing the size of the result of the check run
#               on one line (a number, or numbers: one per destination);
#               $OUT is its standard output (default: wc -l < "$OUT")
#   ROW_EXPECT  the count the check run must give
#   ROW_RUN_EXPECT  the count every timed run must give, counted after it
#               (for a command whose end depends on timing)
#   ROW_EVENTS  events one run handles (default: the lines of INPUT)
# Rows of a group may read different INPUTs (a slow baseline reads a prefix,
# see head_of): the ratio compares events/s, not seconds.
#
# For the case files: $N events in $EVENTS (seed 1), $DUPS (10% duplicates,
# seed 2), $IDS (the ids of $DUPS, one a line); $SLOW, the first $SLOW_N
# (BENCH_SLOW_N, default N/10) events, for rows that run at jq's speed;
# $SPAWN_N (BENCH_SPAWN_N, default N/4000) events for rows that start a
# process per event, $AMQP_N (BENCH_AMQP_N, default N/100) for the broker;
# $W, a scratch directory of this run, removed at the end; $BIN, the tools.
# Also:
#   head_of K FILE   prints the name of a file of the first K lines of FILE
#   note TEXT        a line printed under the table
#   at_exit CODE     shell code run when the bench ends, however it ends
#   skip GROUP WHY   says in the table that a group did not run, and why

RUNS=${BENCH_RUNS:-3}
CHECK_N=${BENCH_CHECK_N:-10000}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# gen N DUP SEED FILE: the corpus, made once for each N, DUP and SEED, and
# renamed into place only when complete (other checkouts share the cache).
gen() {
	[ -s "$4" ] && return 0
	bash "$GEN" "$1" "$2" "$3" > "$4.$$" && mv "$4.$$" "$4" || rm -f "$4.$$"
}

bench_setup() {
	N=${BENCH_N:-1000000}
	SLOW_N=${BENCH_SLOW_N:-$((N / 10))}
	SPAWN_N=${BENCH_SPAWN_N:-$((N / 4000))}
	AMQP_N=${BENCH_AMQP_N:-$((N / 100))}
	[ "$SLOW_N" -ge 1 ] || SLOW_N=$N
	[ "$SPAWN_N" -ge 10 ] || SPAWN_N=10
	[ "$AMQP_N" -ge 10 ] || AMQP_N=10
	START=$(date +%s)
	CACHE=${BENCH_CACHE:-${TMPDIR:-/tmp}/evkit-bench-corpus}
	mkdir -p "$CACHE" || die "cannot make $CACHE"
	W=$(mktemp -d "${TMPDIR:-/tmp}/evkit-bench.XXXXXX") || die "cannot make a scratch directory"
	: > "$W/at-exit"
	trap 'bench_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	${CC:-cc} -O2 -o "$W/timeit" "$HERE/timeit.c" || die "cannot build bench/timeit.c"
	TIMEIT=$W/timeit
	# The shared generator when the checkout sits beside shared/ (RESULTS.md
	# was made with it), else the project's own: the same shape, other
	# bytes. The table's header names the one used, and each has its own
	# corpora in the cache.
	GEN="$HERE/../../shared/bench/gen-events.sh" GENNAME=shared
	[ -f "$GEN" ] || GEN="$HERE/../tests/gen-events.sh" GENNAME=tests
	[ -f "$GEN" ] || die "no gen-events.sh beside the checkout or in tests/"
	GEN=$(cd "$(dirname "$GEN")" && pwd)/${GEN##*/}
	EVENTS="$CACHE/events-$GENNAME-$N-0-1.ndjson"
	DUPS="$CACHE/events-$GENNAME-$N-10-2.ndjson"
	IDS="$CACHE/ids-$GENNAME-$N-10-2.txt"
	[ -s "$EVENTS" ] && [ -s "$DUPS" ] || say "generating $N events in $CACHE"
	gen "$N" 0 1 "$EVENTS" &
	gen "$N" 10 2 "$DUPS" &
	wait
	[ -s "$EVENTS" ] && [ -s "$DUPS" ] || die "cannot generate the corpus"
	if [ ! -s "$IDS" ]; then
		cut -d'"' -f8 "$DUPS" > "$IDS.$$" && mv "$IDS.$$" "$IDS" || die "cannot write $IDS"
	fi
	SLOW=$(head_of "$SLOW_N" "$EVENTS")
	RESULTS="$W/results.tsv"
	: > "$RESULTS"
	: > "$W/notes"
	mkdir "$W/groups"
	export N W EVENTS DUPS IDS
}

bench_cleanup() {
	[ -n "${W:-}" ] && [ -d "$W" ] || return 0
	# run in a subshell so one failing command cannot stop the rest
	while IFS= read -r code; do (eval "$code"); done < "$W/at-exit"
	rm -rf "$W"
}

at_exit() { printf '%s\n' "$1" >> "$W/at-exit"; }
note() { printf '%s\n' "$*" >> "$W/notes"; }
skip() {
	printf '%s\t%s\t0\t0\t0\t0\tskipped: %s\n' "$1" "-" "$2" >> "$RESULTS"
	say "$1: skipped: $2"
}

# lines_of FILE: its lines, counted once (no file changes during a bench)
lines_of() {
	c="$W/lines-$(printf '%s' "$1" | cksum | cut -d' ' -f1)"
	[ -s "$c" ] || wc -l < "$1" | tr -d ' ' > "$c"
	cat "$c"
}

head_of() {
	if [ "$(lines_of "$2")" -le "$1" ]; then
		echo "$2"
		return
	fi
	h="$W/head-$1-$(printf '%s' "$2" | cksum | cut -d' ' -f1)"
	[ -f "$h" ] || head -n "$1" "$2" > "$h"
	echo "$h"
}

# timed INPUT: one run of $cmd after $ROW_SETUP; sets t (seconds), m (KiB)
# and why (empty when the run exited 0).
timed() {
	why=""
	if [ -n "${ROW_SETUP:-}" ] && ! (eval "$ROW_SETUP") > "$W/setup.err" 2>&1; then
		why="setup failed: $(head -c 200 "$W/setup.err")"
		return
	fi
	set -- $("$TIMEIT" "$1" "$W/out" "$W/err" "$cmd")
	if [ $# -ne 3 ]; then
		why="timeit failed"
	elif [ "$3" -ne 0 ]; then
		why="exit status $3: $(head -c 200 "$W/err" | tr '\n' ' ')"
	fi
	t=${1:-0} m=${2:-0}
}

# count: the size of the result in $W/out (then removed) into got
count() {
	got=$(OUT="$W/out"; eval "${ROW_COUNT:-wc -l < \"\$OUT\"}")
	got=$(echo $got)
	rm -f "$W/out"
}

# check: the untimed run on a sample, whose result is counted; sets why when
# the result is wrong.
check() {
	ref="$W/groups/$group"
	# every row of a group is checked on as many lines as its baseline
	if [ -f "$ref.n" ]; then
		sample=$(head_of "$(cat "$ref.n")" "$input")
	else
		sample=$(head_of "$CHECK_N" "$input")
		lines_of "$sample" > "$ref.n"
	fi
	timed "$sample"
	[ -z "$why" ] || return
	count
	[ -n "$got" ] || { why="counting the result printed nothing"; return; }
	if [ -n "${ROW_EXPECT:-}" ]; then
		want=$ROW_EXPECT
	elif [ -f "$ref" ]; then
		want=$(cat "$ref")
	else
		want=""
	fi
	if [ -z "$want" ]; then
		[ -f "$ref" ] && { why="the baseline of $group failed: nothing to check against"; return; }
		[ "$got" != 0 ] || { why="the baseline gave nothing"; return; }
	elif [ "$got" != "$want" ]; then
		why="gave $got on the sample, $want expected"
		return
	fi
	[ -f "$ref" ] || echo "$got" > "$ref"
}

row() {
	group=$1 name=$2 input=$3 cmd=$4
	events=${ROW_EVENTS:-$(lines_of "$input")}
	bytes=$(wc -c < "$input" | tr -d ' ')
	say "$group: $name"
	row_start=$(date +%s)
	check
	if [ -n "$why" ]; then
		# the group's reference exists from now on, empty if the baseline failed
		[ -f "$W/groups/$group" ] || : > "$W/groups/$group"
	fi
	times="" rss=0 i=0
	while [ -z "$why" ] && [ $i -lt "$RUNS" ]; do
		timed "$input"
		if [ -z "$why" ] && [ -n "${ROW_RUN_EXPECT:-}" ]; then
			count
			[ "$got" = "$ROW_RUN_EXPECT" ] || why="gave $got, $ROW_RUN_EXPECT expected"
		fi
		rm -f "$W/out"
		[ -n "$why" ] && why="run $((i + 1)): $why"
		times="$times $t"
		[ "$m" -gt "$rss" ] && rss=$m
		i=$((i + 1))
	done
	if [ -z "$why" ]; then
		med=$(printf '%s\n' $times | sort -n | awk '{ a[NR] = $1 } END { print (a[int((NR + 1) / 2)] + a[int(NR / 2) + 1]) / 2 }')
		# a result below a millisecond is process start-up, not the work
		awk -v t="$med" 'BEGIN { exit !(t < 0.001) }' && why="below a millisecond: raise BENCH_N"
	fi
	if [ -n "$why" ]; then
		say "$group: $name: FAILED: $why"
		printf '%s\t%s\t%s\t%s\t0\t0\tFAILED: %s\n' "$group" "$name" "$events" "$bytes" "$why" >> "$RESULTS"
	else
		printf '%s\t%s\t%s\t%s\t%s\t%s\tok\n' "$group" "$name" "$events" "$bytes" "$med" "$rss" >> "$RESULTS"
		say "$group: $name: median $med s; the row took $(($(date +%s) - row_start)) s"
	fi
	unset ROW_SETUP ROW_COUNT ROW_EXPECT ROW_RUN_EXPECT ROW_EVENTS
}

machine() {
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
	[ -n "$cpu" ] || cpu=$(sysctl -n hw.model 2>/dev/null)
	cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
	echo "machine: ${cpu:-unknown CPU}, $cores cores, $(uname -srm)"
}

loadavg() { uptime | sed 's/.*load average[s]*: //'; }

bench_header() {
	machine
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $N events ($(wc -c < "$EVENTS" | tr -d ' ') bytes), $RUNS runs a row (medians), load average at start: $(loadavg)"
	echo "corpus: $GEN (the $GENNAME generator)"
	echo
}

# The table; exits 1 when a row failed.
bench_table() {
	awk -F '\t' '
	BEGIN {
		printf "%-16s %-50s %9s %9s %12s %8s %8s %8s\n", "group", "command", "events", "median s", "events/s", "MB/s", "ratio", "RSS MiB"
	}
	$7 ~ /^skipped/ { printf "%-16s %s\n", $1, $7; next }
	$7 != "ok" {
		printf "%-16s %-50s %9d %s\n", $1, substr($2, 1, 50), $3, $7
		if (!($1 in base)) base[$1] = 0
		bad = 1
		next
	}
	{
		rate = $3 / $5
		if (!($1 in base)) base[$1] = rate
		ratio = base[$1] > 0 ? sprintf("%7.2fx", rate / base[$1]) : "       -"
		printf "%-16s %-50s %9d %9.3f %12.0f %8.1f %s %8.1f\n", $1, substr($2, 1, 50), $3, $5, rate, $4 / $5 / 1e6, ratio, $6 / 1024
	}
	END { exit bad }' "$RESULTS"
	status=$?
	[ -s "$W/notes" ] && { echo; cat "$W/notes"; }
	echo
	# the CPU time of every command run, which a busy machine does not inflate
	times > "$W/times"
	cpu=$(awk 'NR == 2 { gsub(/[ms]/, " "); print int($1 * 60 + $2 + $3 * 60 + $4) }' "$W/times")
	echo "load average at the end: $(loadavg); the whole bench took $(($(date +%s) - START)) s, ${cpu} s of CPU (user + system)"
	return $status
}

# bench_wanted CASEFILE: whether BENCH_CASES (patterns separated by |)
# selects it; all cases when it is unset or empty.
bench_wanted() {
	[ -n "${BENCH_CASES:-}" ] || return 0
	(
		IFS='|'
		set -f
		for p in $BENCH_CASES; do
			case $1 in $p) exit 0 ;; esac
		done
		exit 1
	)
}
