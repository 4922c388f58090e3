#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Signed events (evkit(7), SIGNED EVENTS): evspool keygen, --sign-key on any
# writer, --verify-keys on any reader, evspool verify; tampering, wrong and
# unknown keys, foreign sources, missing signatures, replays, pass-through.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	mkdir "$T/keys"
	evspool keygen "$T/shop.key" shop /shop '/shop/*'
	evspool keygen "$T/pay.key" pay /payments
	cp "$T/shop.key.pub" "$T/pay.key.pub" "$T/keys/"
}

@test "evspool keygen: a secret key only its owner may read, never overwritten" {
	[ "$(stat -c %a "$T/shop.key")" = 600 ]
	grep -q '^keyid shop$' "$T/shop.key.pub"
	grep -q '^source /shop/\*$' "$T/shop.key.pub"
	grep -q '^public-key ' "$T/shop.key.pub"
	! grep -q secret "$T/shop.key.pub"
	run -2 evspool keygen "$T/shop.key" shop /shop
	[[ "$output" == *"shop.key: cannot create: File exists"* ]]
	chmod 644 "$T/shop.key"
	run -2 evemit --sign-key "$T/shop.key" -s /shop t
	[[ "$output" == *"chmod 600"* ]]
}

@test "evemit signs; every reader verifies; the signature survives evfilter and evroute byte for byte" {
	evemit --sign-key "$T/shop.key" -s /shop order.placed n:=1 sku=a > "$T/ev.ndjson"
	grep -q '"evkeyid":"shop","evsig":"[A-Za-z0-9+/]\{86\}=="}$' "$T/ev.ndjson"
	evfilter 'true' "$T/ev.ndjson" | evroute "order.* > $T/routed.ndjson"
	cmp "$T/ev.ndjson" "$T/routed.ndjson"
	run evfilter --verify-keys "$T/keys" true "$T/routed.ndjson"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/ev.ndjson")" ]
	run evtail --no-follow --verify-keys "$T/keys" "$T/routed.ndjson"
	[ "$status" -eq 0 ]
	run evdedupe --verify-keys "$T/keys" "$T/routed.ndjson"
	[ "$status" -eq 0 ]
	run evretry --verify-keys "$T/keys" -i "$T/routed.ndjson" -- true
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/ev.ndjson")" ]
	# written anew by another JSON tool (other order, spacing, numbers): still good
	jq -S . "$T/ev.ndjson" | jq -c '.data.n = 1.0' > "$T/rewritten.ndjson"
	! cmp -s "$T/ev.ndjson" "$T/rewritten.ndjson"
	evfilter --verify-keys "$T/keys" true "$T/rewritten.ndjson"
}

@test "tampered bytes, a wrong key, an unknown key, a foreign source and no signature go to --rejects with the reason" {
	evemit --sign-key "$T/shop.key" -s /shop a n:=1 > "$T/good.ndjson"
	sed 's/"n":1/"n":2/' "$T/good.ndjson" > "$T/tampered.ndjson"
	# a key with the same id that the readers do not trust
	evspool keygen "$T/impostor.key" shop /shop
	evemit --sign-key "$T/impostor.key" -s /shop a > "$T/wrongkey.ndjson"
	evspool keygen "$T/other.key" other /shop
	evemit --sign-key "$T/other.key" -s /shop a > "$T/unknown.ndjson"
	evemit --sign-key "$T/pay.key" -s /shop a > "$T/foreign.ndjson"
	evemit -s /shop a > "$T/unsigned.ndjson"
	cat "$T"/{good,tampered,wrongkey,unknown,foreign,unsigned}.ndjson > "$T/in.ndjson"
	run -2 evfilter --verify-keys "$T/keys" --rejects "$T/rej.ndjson" true "$T/in.ndjson"
	[ "${lines[0]}" = "evfilter: $T/in.ndjson:2: bad signature (key 'shop')" ]
	[ "${lines[1]}" = "evfilter: $T/in.ndjson:3: bad signature (key 'shop')" ]
	[ "${lines[2]}" = "evfilter: $T/in.ndjson:4: unknown key 'other'" ]
	[ "${lines[3]}" = "evfilter: $T/in.ndjson:5: foreign source '/shop': key 'pay' does not sign for it" ]
	[ "${lines[4]}" = "evfilter: $T/in.ndjson:6: unsigned event (no evsig)" ]
	[ "${lines[5]}" = "$(cat "$T/good.ndjson")" ]
	# the rejects are kept verbatim, not signed again
	tail -n +2 "$T/in.ndjson" | cmp - "$T/rej.ndjson"
}

@test "a tool with --sign-key signs what it writes (not its rejects); a reader of the next stage verifies" {
	printf '%s\n' '{"id":"1","source":"/shop/eu","type":"a"}' 'not json' \
	    '{"id":"2","source":"/payments","type":"a"}' > "$T/in.ndjson"
	run -2 evfilter --sign-key "$T/shop.key" --rejects "$T/rej.ndjson" -o "$T/out.ndjson" true \
	    "$T/in.ndjson"
	[ "$(cat "$T/rej.ndjson")" = "not json" ]
	[ "$(lines "$T/out.ndjson")" -eq 2 ]
	run -2 evroute --verify-keys "$T/keys" -i "$T/out.ndjson" '#'
	[[ "$output" == *"/payments': key 'shop' does not sign for it"* ]]
	[[ "$output" == *'"id":"1"'* ]]
	# spools: a signing writer in, a verifying reader out
	evspool init "$T/sp"
	evemit --sign-key "$T/shop.key" -s /shop -o "$T/sp" a
	evtail --no-follow --verify-keys "$T/keys" "$T/sp" > "$T/tail.ndjson"
	[ "$(lines "$T/tail.ndjson")" -eq 1 ]
}

@test "evspool verify checks a whole spool: 0 when every event is good, 1 and the bad ones named otherwise" {
	evspool init "$T/sp"
	evemit --sign-key "$T/shop.key" -s /shop -o "$T/sp" a
	evemit --sign-key "$T/shop.key" -s /shop/eu -o "$T/sp" a
	run evspool verify --verify-keys "$T/keys" --stats "$T/sp"
	[ "$status" -eq 0 ]
	[ "$output" = "evspool: verified 2, bad 0" ]
	evemit -s /shop -o "$T/sp" a
	run -1 evspool verify --verify-keys "$T/keys" "$T/sp"
	[ "$output" = "evspool: $T/sp:3: unsigned event (no evsig)" ]
	run -2 evspool verify "$T/sp"
	[[ "$output" == *"--verify-keys dir is required"* ]]
	run -2 evspool verify --verify-keys "$T/nothere" "$T/sp"
	[[ "$output" == *"nothere: cannot open the keyring"* ]]
}

@test "replay: a copied signed event still verifies; evdedupe on source and id drops it" {
	evemit --sign-key "$T/shop.key" -s /shop order.placed > "$T/ev.ndjson"
	cat "$T/ev.ndjson" "$T/ev.ndjson" > "$T/replayed.ndjson"
	run evfilter --verify-keys "$T/keys" -c true "$T/replayed.ndjson"
	[ "$output" = 2 ]
	run evdedupe --verify-keys "$T/keys" "$T/replayed.ndjson"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$T/ev.ndjson")" ]
	# changing the id to get past dedupe breaks the signature
	sed 's/"id":"0/"id":"1/' "$T/ev.ndjson" > "$T/newid.ndjson"
	run -2 evdedupe --verify-keys "$T/keys" "$T/ev.ndjson" "$T/newid.ndjson"
	[[ "$output" == *"newid.ndjson:1: bad signature (key 'shop')"* ]]
}

@test "keyring files: several keys in one file, bad lines named, duplicates refused" {
	cat "$T/shop.key.pub" "$T/pay.key.pub" > "$T/ring"
	evemit --sign-key "$T/pay.key" -s /payments a | evfilter --verify-keys "$T/ring" true
	cat "$T/shop.key.pub" "$T/shop.key.pub" > "$T/dup"
	run -2 evfilter --verify-keys "$T/dup" true /dev/null
	[[ "$output" == *"key 'shop' is there twice"* ]]
	printf 'keyid x\npublic-key nope\n' > "$T/bad"
	run -2 evfilter --verify-keys "$T/bad" true /dev/null
	[[ "$output" == *"bad:2: not a base64 key of 32 bytes"* ]]
}
