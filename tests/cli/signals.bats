#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Long-running tools and signals (evkit(7), SIGNALS): SIGTERM and SIGINT
# stop a follower cleanly (the batch committed, --stats printed, exit 0),
# SIGUSR1 prints the counts at once, SIGHUP reloads or is ignored; and
# sd_notify(3) messages to a real NOTIFY_SOCKET.
load helpers
bats_require_minimum_version 1.5.0

NOTIFY_LISTEN="$BATS_TEST_DIRNAME/../notify-listen.py"

# A spool with 3 events.
mkspool() {
	evspool init "$T/s"
	for i in 1 2 3; do evemit -o "$T/s" -s /test order.placed n:=$i; done
}

# follower TOOL: the command line of TOOL following spool $T/s through
# cursor c, its events (or what it writes per event) to stdout.
follower() {
	case $1 in
	evtail) echo evtail --cursor c --stats "$T/s" ;;
	evfilter) echo evfilter --cursor c --stats true "$T/s" ;;
	evroute) echo evroute -i "$T/s" --cursor c --stats '#' ;;
	evretry) echo evretry -i "$T/s" --cursor c --stats -- true ;;
	evdedupe) echo evdedupe --cursor c --stats "$T/s" ;;
	esac
}

# The counts a tool prints (--stats, SIGUSR1), with N events in.
counted() {
	case $1 in
	evtail) grep -c "^evtail: events $2," "$T/err" ;;
	*) grep -c "^$1: in $2," "$T/err" ;;
	esac
}

# start TOOL [SIGINT]: the follower in the background, SIGINT at its
# default (a shell starts background jobs with SIGINT ignored).
start() {
	# shellcheck disable=SC2046
	bg env --default-signal=INT $(follower "$1") > "$T/out" 2> "$T/err"
}

# nothing_left: the cursor was committed past every event.
nothing_left() {
	[ -z "$(evtail --no-follow --cursor c "$T/s")" ]
}

stop_and_check() {
	local tool=$1 sig=$2 n=$3
	local status=0
	kill -"$sig" "$BGPID"
	wait "$BGPID" || status=$?
	[ "$status" -eq 0 ] || { echo "$tool after SIG$sig: status $status"; cat "$T/err"; false; }
	[ "$(counted "$tool" "$n")" -ge 1 ] || { echo "$tool: no --stats"; cat "$T/err"; false; }
	nothing_left
}

# usr1_then_term TOOL: SIGUSR1 while it waits prints the counts and it goes
# on; SIGTERM then commits, prints --stats and exits 0.
usr1_then_term() {
	mkspool
	start "$1"
	wait_for 20 has_lines "$T/out" 3
	kill -USR1 "$BGPID"
	wait_for 10 eval "[ \"\$(counted $1 3)\" -ge 1 ]"
	evemit -o "$T/s" -s /test order.placed n:=4
	wait_for 20 has_lines "$T/out" 4
	stop_and_check "$1" TERM 4
}

@test "evtail following a spool: SIGUSR1 prints the counts, SIGTERM commits, prints --stats, exits 0" {
	usr1_then_term evtail
}

@test "evfilter following a spool: SIGUSR1 prints the counts, SIGTERM commits, prints --stats, exits 0" {
	usr1_then_term evfilter
}

@test "evroute following a spool: SIGUSR1 prints the counts, SIGTERM commits, prints --stats, exits 0" {
	usr1_then_term evroute
}

@test "evretry following a spool: SIGUSR1 prints the counts, SIGTERM commits, prints --stats, exits 0" {
	usr1_then_term evretry
}

@test "evdedupe following a spool: SIGUSR1 prints the counts, SIGTERM commits, prints --stats, exits 0" {
	usr1_then_term evdedupe
}

@test "SIGINT (a ^C) stops a follower as SIGTERM does" {
	mkspool
	start evfilter
	wait_for 20 has_lines "$T/out" 3
	stop_and_check evfilter INT 3
}

@test "SIGINT stays ignored in a background job of a shell without job control" {
	mkspool
	evfilter --cursor c true "$T/s" > "$T/out" 2> "$T/err" &
	pid=$!
	echo "$pid" >> "$T/bg.pids"
	wait_for 20 has_lines "$T/out" 3
	kill -INT "$pid"
	kill -USR1 "$pid" # a signal it answers: the INT had its chance first
	wait_for 10 grep -q '^evfilter: in 3,' "$T/err"
	kill -0 "$pid"
	kill -TERM "$pid"
	wait "$pid"
}

@test "evretry: SIGHUP no longer stops it; the stop waits for a running handler" {
	mkspool
	bg evretry -i "$T/s" --cursor c --stats -- sh -c 'cat; [ -e "$0/slow" ] && sleep 1; :' "$T" \
	    > "$T/out" 2> "$T/err"
	wait_for 20 has_lines "$T/out" 3
	kill -HUP "$BGPID"
	evemit -o "$T/s" -s /test order.placed n:=4
	wait_for 20 has_lines "$T/out" 4
	kill -0 "$BGPID"
	touch "$T/slow"
	evemit -o "$T/s" -s /test order.placed n:=5
	kill -TERM "$BGPID"
	wait "$BGPID"
	grep -q '^evretry: in [45], done [45],' "$T/err"
	# what finished is committed, the rest is left for the next run
	left=$(evtail --no-follow --cursor c "$T/s" | wc -l)
	[ $(($(lines "$T/out") + left)) -eq 5 ]
}

@test "sd_notify: READY=1, STATUS= with the counts, WATCHDOG=1, STOPPING=1 to NOTIFY_SOCKET" {
	command -v python3 > /dev/null || skip "python3 is not installed"
	mkspool
	bg python3 "$NOTIFY_LISTEN" "$T/notify" > "$T/msgs" 2> "$T/listen.err"
	wait_for 60 test -S "$T/notify" || { cat "$T/listen.err"; false; }
	for tool in evtail evretry; do
		: > "$T/msgs"
		# shellcheck disable=SC2046
		NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=200000 bg $(follower $tool) > "$T/out" 2> "$T/err"
		wait_for 20 grep -qx READY=1 "$T/msgs"
		wait_for 20 has_lines "$T/out" 3
		# the watchdog is pinged while it waits for events
		wait_for 10 eval '[ "$(grep -cx WATCHDOG=1 "$T/msgs")" -ge 3 ]'
		wait_for 10 grep -q '^STATUS=.*3' "$T/msgs"
		kill -TERM "$BGPID"
		wait "$BGPID"
		grep -qx STOPPING=1 "$T/msgs"
		rm -rf "$T/s/cursors/c"
		: > "$T/out"
	done
	# nothing is sent without NOTIFY_SOCKET, and nothing fails
	run evtail --no-follow --cursor d "$T/s"
	[ "$status" -eq 0 ]
}
