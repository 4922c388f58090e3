#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evfilter EXPR keeps what `jq -c 'select(EXPR)'` keeps, on real GitHub events.
load helpers

# One expression a line: comparisons, paths through missing members,
# regexes, arithmetic, dates, variables, alternatives, any/IN/has.
exprs() {
	cat <<'X'
.type == "PushEvent"
.public
.payload.size > 1
.actor.login | startswith("a")
.repo.name | test("^[a-m]")
.org != null
(.payload.commits // []) | length > 2
.type | IN("WatchEvent", "ForkEvent")
.payload.action == "opened"
.created_at < "2021-07-21T07:00:00Z"
(.id | tonumber) % 7 == 0
any(.payload.commits[]?; .message | test("fix"; "i"))
has("org")
.actor.display_login | length > 10
(.payload | length) > 3
(.payload.ref_type // "") == "tag"
.repo.id > 300000000
[.payload.commits[]?.author.email] | any(endswith("users.noreply.github.com"))
.type | ascii_downcase | contains("issue")
(.payload.issue.labels | length) > 0
.actor.login | test("\\[bot\\]$")
(.created_at | fromdateiso8601) % 600 < 300
.type == "PushEvent" and .payload.distinct_size == 0
.payload.pull_request.head.repo.language == "JavaScript" or .payload.forkee.fork == true
(.payload.commits | length) as $n | $n > 0 and $n < 3
.missing.deeply.nested
.payload.ref | strings | endswith("main")
X
}

# agree FIRST LAST: expressions FIRST..LAST of the list give what jq gives.
agree() {
	local c="$CORPUS/github-events.ndjson" failed="" n=0
	while IFS= read -r e; do
		n=$((n + 1))
		evfilter "$e" "$c" > "$T/ours" || [ $? -eq 1 ] || failed="$failed [$e: status]"
		jq -c "select($e)" "$c" > "$T/jq"
		cmp -s "$T/ours" "$T/jq" || failed="$failed [$e]"
	done < <(exprs | sed -n "$1,$2p")
	[ "$n" -gt 0 ]
	[ -z "$failed" ] || { echo "differs from jq:$failed"; false; }
}

@test "there are at least 20 expressions to compare" {
	[ "$(exprs | wc -l)" -ge 20 ]
}

@test "evfilter EXPR agrees with jq -c 'select(EXPR)' on the GitHub corpus (1-9)" {
	agree 1 9
}

@test "evfilter EXPR agrees with jq -c 'select(EXPR)' on the GitHub corpus (10-18)" {
	agree 10 18
}

@test "evfilter EXPR agrees with jq -c 'select(EXPR)' on the GitHub corpus (19-)" {
	agree 19 99
}

@test "evfilter -v EXPR agrees with jq -c 'select(EXPR | not)'" {
	local c="$CORPUS/github-events.ndjson"
	for e in '.type == "PushEvent"' '.org != null' '.payload.size > 1'; do
		evfilter -v "$e" "$c" > "$T/ours"
		jq -c "select(($e) | not)" "$c" > "$T/jq"
		cmp "$T/ours" "$T/jq"
	done
}

@test "evfilter -c EXPR counts what jq selects" {
	run evfilter -c '.type == "WatchEvent"' "$CORPUS/github-events.ndjson"
	[ "$status" -eq 0 ]
	[ "$output" = "$(jq -c 'select(.type == "WatchEvent")' "$CORPUS/github-events.ndjson" | wc -l)" ]
}

@test "evfilter --map EXPR writes what jq -c EXPR writes" {
	local c="$CORPUS/github-events.ndjson"
	for e in '{id, type}' '.payload.commits[]?.sha' '.actor.login, .repo.name'; do
		evfilter --map "$e" "$c" > "$T/ours"
		jq -c "$e" "$c" > "$T/jq"
		cmp "$T/ours" "$T/jq"
	done
}

@test "an event is kept once however many true values the expression yields" {
	local c="$CORPUS/github-events.ndjson"
	evfilter '.payload.commits[]?.distinct' "$c" > "$T/ours"
	jq -c 'select(any(.payload.commits[]?.distinct; .))' "$c" > "$T/jq"
	cmp "$T/ours" "$T/jq"
	# jq's own select writes such an event once per true value
	[ "$(jq -c 'select(.payload.commits[]?.distinct)' "$c" | wc -l)" -gt "$(wc -l < "$T/ours")" ]
}
