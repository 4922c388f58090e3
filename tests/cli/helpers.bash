# SPDX-License-Identifier: ISC
# Shared by the bats files: run the built tools (EVKIT_BIN, set by make check).
# Each test gets its own scratch directory in $T.
: "${EVKIT_BIN:=$BATS_TEST_DIRNAME/../../build/rel/bin}"
PATH="$EVKIT_BIN:$PATH"
CORPUS="$BATS_TEST_DIRNAME/../data"        # real-world corpora, with their licenses
GEN="$BATS_TEST_DIRNAME/../gen-events.sh"   # generated events
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"

# sanflags: the sanitizer flags of the build under test (make check's), for
# a test that links with it.
sanflags() {
	if grep -qa __asan_init "$EVKIT_BIN/evemit"; then
		echo '-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all'
	fi
}

setup() {
	T="$BATS_TEST_TMPDIR"
}

# wait_for TIMEOUT_S CMD...: retry CMD until it succeeds or the time is up.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; return 1; }
		sleep 0.02
	done
}

# lines FILE: number of lines in FILE (0 if absent).
lines() {
	[ -f "$1" ] && wc -l < "$1" | tr -d ' ' || echo 0
}

# has_lines FILE N: FILE has at least N lines (for wait_for).
has_lines() {
	[ "$(lines "$1")" -ge "$2" ]
}

# bg CMD...: run CMD in the background (its pid in $BGPID), killed by
# kill_bg, which the default teardown calls.
bg() {
	"$@" &
	BGPID=$!
	echo "$BGPID" >> "$T/bg.pids"
}

kill_bg() {
	[ -f "$T/bg.pids" ] && xargs kill -9 < "$T/bg.pids" 2>/dev/null
	return 0
}

teardown() {
	kill_bg
}
