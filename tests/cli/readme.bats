#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Every shell block of README.md runs as written in an empty directory and
# prints what the README shows. readme.bash has the convention (also at the
# top of README.md's source); the blocks that need a broker ($BROKER) run
# in amqp.bats.
load helpers
load readme

@test "README.md: every shell block runs as written in an empty directory" {
	total=$(readme_blocks)
	[ "$total" -ge 8 ]
	broker=0
	for n in $(seq 1 "$total"); do
		readme_block "$n"
		grep -qv '^__' "$T/block.sh" || { echo "README block $n has no \"\$ command\" line"; false; }
		if grep -q '\$BROKER' "$T/block.sh"; then
			broker=$((broker + 1))
			continue
		fi
		readme_run "$T/b$n" || { echo "(README block $n)"; false; }
	done
	# amqp.bats runs these with its broker
	[ "$broker" -ge 1 ]
}
