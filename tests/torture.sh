#!/bin/sh
# SPDX-License-Identifier: ISC
# torture.sh — evkit's delivery guarantees under SIGKILL and a full disk.
#
#   tests/torture.sh [-k kills] [-n events] [-d] bindir
#
# Kills: a four-stage spool pipeline,
#     src ─evfilter→ a ─evroute→ b ─evdedupe --state→ c ─evtail→ out.ndjson
# every stage reading through a durable cursor, is SIGKILLed `kills` times
# (a random stage, after a random 20-300 ms), each killed stage started
# again at once, while a producer appends the events to src bit by bit. Then it drains; every event of src must be in out (lost:
# must be 0), duplicates are counted and reported (at-least-once allows
# them), and every spool must pass evspool check.
#
# Full disk (-d, as root where a tmpfs can be mounted; a clear skip,
# exit 77, elsewhere): a stage writes into a spool on a 4 MiB tmpfs until
# the disk is full. It must exit 111, the spool must end at a line
# boundary, and after the tmpfs grows it must resume from its cursor and
# deliver every event (the complete lines of the batch the disk cut short
# are delivered again: duplicates, reported).
#
# Exit status: 0 all good; 1 a guarantee broken; 2 usage; 77 skipped.
set -u
kills=30 events=20000 disk=0
while getopts dk:n: o; do
	case $o in
	d) disk=1 ;;
	k) kills=$OPTARG ;;
	n) events=$OPTARG ;;
	*) echo "usage: torture.sh [-d] [-k kills] [-n events] bindir" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: torture.sh [-d] [-k kills] [-n events] bindir" >&2; exit 2; }
bin=$(cd "$1" && pwd) || exit 2
here=$(cd "$(dirname "$0")" && pwd)
PATH=$bin:$PATH
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"
work=$(mktemp -d "${TMPDIR:-/tmp}/evtorture.XXXXXX") || exit 2
pids=""
mnt=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { echo "torture: $*"; }
fail() { say "FAILED: $*"; exit 1; }

# rnd N: r = a number in 0..N-1 (a Lehmer generator; TORTURE_SEED repeats a run)
seed=${TORTURE_SEED:-$$}
TORTURE_SEED0=$seed
rnd() {
	seed=$(((seed * 16807) % 2147483647))
	r=$((seed % $1))
}

# ids FILE: the ids in FILE, one per line (the events are generated with
# "id" as their second member).
ids() {
	sed -n 's/^{"specversion":"1.0","id":"\([^"]*\)".*/\1/p' "$1"
}

# wait_until SECONDS CMD...: poll CMD until it succeeds or the time is up.
wait_until() {
	end=$(($(date +%s) + $1)); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

if [ "$disk" = 1 ]; then
	[ "$(id -u)" -eq 0 ] || { say "skipped: the full-disk run needs root to mount a tmpfs"; exit 77; }
	mnt=$work/small
	mkdir -p "$mnt"
	if ! mount -t tmpfs -o size=4m evtorture "$mnt" 2>/dev/null; then
		mnt=""
		say "skipped: cannot mount a tmpfs here (no CAP_SYS_ADMIN?)"
		exit 77
	fi
	sh "$here/gen-events.sh" "$events" 0 7 > "$work/in.ndjson"
	evspool init "$work/src" && evfilter true -o "$work/src" "$work/in.ndjson" ||
		fail "cannot fill the source spool"
	evspool init "$mnt/full" || fail "evspool init on the tmpfs"
	evfilter --cursor fill --no-follow -o "$mnt/full" true "$work/src" 2> "$work/err"
	rc=$?
	[ $rc -eq 111 ] || fail "a full disk: exit $rc, want 111 ($(cat "$work/err"))"
	grep -q 'No space left' "$work/err" || fail "a full disk not named: $(cat "$work/err")"
	evspool check "$mnt/full" > /dev/null 2>&1 || fail "the full spool does not check clean"
	first=$(cat "$mnt"/full/segments/*.ndjson | wc -l)
	[ "$first" -gt 0 ] && [ "$first" -lt "$events" ] || fail "$first events before the disk filled"
	mount -o remount,size=256m "$mnt" || fail "cannot grow the tmpfs"
	evfilter --cursor fill --no-follow -o "$mnt/full" true "$work/src" ||
		fail "no resume once space was freed"
	evspool check "$mnt/full" > /dev/null || fail "the spool does not check clean after the resume"
	cat "$mnt"/full/segments/*.ndjson > "$work/out.ndjson"
	sort -u "$work/in.ndjson" > "$work/want"
	sort -u "$work/out.ndjson" > "$work/got"
	cmp -s "$work/want" "$work/got" ||
		fail "after the resume the spool does not hold every input event, whole, and nothing else"
	dups=$(($(wc -l < "$work/out.ndjson") - events))
	say "full disk: exit 111 with $first of $events events written, every line whole;" \
	    "resumed once space was freed: lost 0, duplicates $dups (the events of the failed batch)"
	exit 0
fi

sh "$here/gen-events.sh" "$events" 0 3 > "$work/in.ndjson"
for s in src a b c; do evspool init "$work/$s" || fail "evspool init"; done
# The producer (never killed) appends the input in 100 parts spread over
# the kills, so that the stages are busy when they are killed.
mkdir "$work/parts"
split -l $(((events + 99) / 100)) "$work/in.ndjson" "$work/parts/p"
pause=$(awk -v k="$kills" 'BEGIN { printf "%.3f", k * 0.17 / 100 }')
(
	for f in "$work"/parts/p*; do
		evfilter true -o "$work/src" "$f" || exit 1
		sleep "$pause"
	done
) &
producer=$!

stage() {
	case $1 in
	1) exec evfilter --cursor t1 -o "$work/a" true "$work/src" ;;
	2) exec evroute -q --cursor t2 -i "$work/a" "# > $work/b" ;;
	3) exec evdedupe -q -n 0 --state "$work/dedupe.state" --cursor t3 -o "$work/c" "$work/b" ;;
	4) exec evtail -q --cursor t4 -o "$work/out.ndjson" "$work/c" ;;
	esac
}
start() {
	( stage "$1" ) 2>> "$work/stage$1.err" &
	eval "pid$1=$!"
}
for i in 1 2 3 4; do start $i; done
pids="$pid1 $pid2 $pid3 $pid4"

k=0
while [ $k -lt "$kills" ]; do
	rnd 280
	sleep "0.$(printf '%03d' $((20 + r)))"
	rnd 4
	i=$((1 + r))
	eval "p=\$pid$i"
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	start $i
	pids="$pid1 $pid2 $pid3 $pid4"
	k=$((k + 1))
done

wait "$producer" || fail "the producer could not append to the source spool"
t0=$(date +%s)

# Drain: every id of the input in the output, or a minute of no progress.
have() { [ "$(ids "$work/out.ndjson" 2>/dev/null | sort -u | wc -l)" -ge "$events" ]; }
wait_until $((60 + events / 2000)) have
for p in $pids; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
pids=""

ids "$work/in.ndjson" | sort > "$work/want"
ids "$work/out.ndjson" | sort > "$work/got"
lost=$(comm -23 "$work/want" "$work/got" | wc -l)
dups=$(($(wc -l < "$work/got") - $(sort -u "$work/got" | wc -l)))
alien=$(sort -u "$work/got" | comm -13 "$work/want" - | wc -l)
for s in src a b c; do
	evspool check "$work/$s" > "$work/check" 2>&1 || fail "spool $s: $(cat "$work/check")"
done
if grep -v 'Killed\|^$' "$work"/stage*.err | grep -q .; then
	say "stage messages:"; grep -hv '^$' "$work"/stage*.err | sort | uniq -c | head -20
fi
say "$kills kills (seed $TORTURE_SEED0), $events events: lost $lost, duplicates $dups, spools checked clean (drained in $(($(date +%s) - t0)) s)"
[ "$lost" -eq 0 ] || fail "$lost events lost"
[ "$alien" -eq 0 ] || fail "$alien events in the output that were never input"
exit 0
