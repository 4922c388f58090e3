#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evroute with many rules (type patterns through its word trie, fast-path
# and libjq rules, attribute globs in between) routes as the rules say one
# by one, and a reload changes what changed and keeps the rest working.
load helpers

# rules_and_events DIR: 1000 rules (mostly type patterns with '*' and '#',
# every 37th a jq rule, every 53rd an attribute glob) over 7 destinations,
# and 3000 events with random types, in DIR; then the routing a reference
# written from the man page's rules computes, one rule at a time, for the
# default (every match) and for --first: DIR/want-all/dN, DIR/want-first/dN.
rules_and_events() {
	python3 - "$1" <<-'PY'
	import fnmatch, json, os, random, sys
	d = sys.argv[1]
	rnd = random.Random(19)
	words = ["a", "b", "c", "order", "x", ""]
	def pattern(k):  # mostly a word of its own first, then anything
	    n = rnd.randint(0, 3)
	    ws = [rnd.choice(words[:5] + ["*", "#", "#"]) for _ in range(n)]
	    if rnd.random() < 0.97:
	        ws.insert(0, f"w{k % 97}")
	    return ".".join(ws)
	def match(p, t):  # a topic exchange's match, word by word
	    pw = p.split(".") if p != "" else []
	    tw = t.split(".") if t != "" else []
	    def m(i, j):
	        if i == len(pw):
	            return j == len(tw)
	        if pw[i] == "#":
	            return any(m(i + 1, k) for k in range(j, len(tw) + 1))
	        if j == len(tw):
	            return False
	        return (pw[i] == "*" or pw[i] == tw[j]) and m(i + 1, j + 1)
	    return m(0, 0)
	rules = []  # (kind, arg, dest)
	with open(f"{d}/rules", "w") as f:
	    for k in range(1000):
	        dest = f"d{k % 7}.ndjson"
	        if k % 37 == 36:
	            v = rnd.randint(0, 300)
	            # the fast path's shape, or one only libjq evaluates
	            expr = f".data.k == {v}" if k % 2 else f"(.data.k | tostring) == \"{v}\""
	            rules.append(("jq", v, dest))
	            f.write(f"({expr}) > {d}/out/{dest}\n")
	        elif k % 53 == 52:
	            g = f"s{rnd.randint(1, 9)}[0-{rnd.randint(0, 4)}]"
	            rules.append(("glob", g, dest))
	            f.write(f"subject:{g} > {d}/out/{dest}\n")
	        else:
	            p = pattern(k)
	            while p.startswith(".") or set(p.split(".")) == {"#"}:
	                p = pattern(k)
	            rules.append(("type", p, dest))
	            f.write(f"type:{p} > {d}/out/{dest}\n")
	events = []
	for i in range(3000):
	    t = ".".join([f"w{rnd.randint(0, 96)}"] * (rnd.random() < 0.7) +
	                 [rnd.choice(words) for _ in range(rnd.randint(0, 4))])
	    e = {"id": str(i), "type": t, "subject": f"s{rnd.randint(0, 99)}",
	         "data": {"k": rnd.randint(0, 300)}}
	    if i % 101 == 0:
	        del e["type"]
	    events.append(e)
	with open(f"{d}/in", "w") as f:
	    for e in events:
	        f.write(json.dumps(e, separators=(",", ":")) + "\n")
	def hits(e, rule):
	    kind, arg, _ = rule
	    if kind == "jq":
	        return e["data"]["k"] == arg
	    if kind == "glob":
	        return fnmatch.fnmatchcase(e["subject"], arg)
	    if "type" not in e:
	        return arg != "" and all(w == "#" for w in arg.split("."))
	    return match(arg, e["type"])
	for mode in ("all", "first"):
	    os.makedirs(f"{d}/want-{mode}")
	    out = {f"d{k}.ndjson": [] for k in range(7)}
	    out["other.ndjson"] = []
	    for e in events:
	        line = json.dumps(e, separators=(",", ":"))
	        seen = set()
	        for r in rules:
	            if hits(e, r):
	                if r[2] not in seen:
	                    out[r[2]].append(line)
	                    seen.add(r[2])
	                if mode == "first":
	                    break
	        if not seen:
	            out["other.ndjson"].append(line)
	    for name, lines in out.items():
	        with open(f"{d}/want-{mode}/{name}", "w") as f:
	            f.writelines(l + "\n" for l in lines)
	PY
}

# same_routing DIR MODE: every destination holds what the reference says.
same_routing() {
	for f in "$1/want-$2"/*; do
		touch "$1/out/${f##*/}"
		cmp "$f" "$1/out/${f##*/}" || { echo "${f##*/} differs ($2)"; return 1; }
	done
}

@test "evroute routes with 1000 rules as the rules say one by one, every match and --first" {
	rules_and_events "$T"
	mkdir "$T/out"
	run evroute -f "$T/rules" --otherwise "$T/out/other.ndjson" -i "$T/in"
	[ "$status" -eq 0 ]
	same_routing "$T" all
	rm -rf "$T/out" && mkdir "$T/out"
	run evroute --first -f "$T/rules" --otherwise "$T/out/other.ndjson" -i "$T/in"
	[ "$status" -eq 0 ]
	same_routing "$T" first
	[ -s "$T/out/d0.ndjson" ]
	[ -s "$T/out/other.ndjson" ]
}

@test "evroute: a reload puts changed rules in force and keeps the unchanged ones working" {
	cd "$T"
	mkfifo in
	cat > rules <<-'EOF'
	order.# > order.ndjson
	(.data.amount > 100) > big.ndjson
	((.data.amount | floor) == 7) > seven.ndjson
	user.* > user.ndjson
	EOF
	evroute -f rules -i in 2> err &
	bg=$!
	exec 7> in
	echo '{"type":"order.placed","data":{"amount":7.5}}' >&7
	echo '{"type":"user.login","data":{"amount":500}}' >&7
	wait_for 10 has_lines user.ndjson 1
	wait_for 10 has_lines seven.ndjson 1
	# user.* moves to people.ndjson, a rule is added; the jq rules stay
	cat > rules <<-'EOF'
	order.# > order.ndjson
	(.data.amount > 100) > big.ndjson
	((.data.amount | floor) == 7) > seven.ndjson
	user.* > people.ndjson
	(.data.amount == 3) > three.ndjson
	EOF
	kill -HUP "$bg"
	wait_for 10 grep -q 'reloading' err
	echo '{"type":"user.logout","data":{"amount":3}}' >&7
	echo '{"type":"order.paid","data":{"amount":7.2}}' >&7
	echo '{"type":"order.big","data":{"amount":1000}}' >&7
	exec 7>&-
	wait "$bg"
	bg=
	[ "$(lines order.ndjson)" -eq 3 ]
	[ "$(lines user.ndjson)" -eq 1 ]
	[ "$(lines people.ndjson)" -eq 1 ]
	[ "$(lines three.ndjson)" -eq 1 ]
	[ "$(lines seven.ndjson)" -eq 2 ]
	[ "$(lines big.ndjson)" -eq 2 ]
	grep -q '"user.logout"' three.ndjson
}

teardown() {
	[ -z "${bg:-}" ] || kill "$bg" 2>/dev/null || true
}
