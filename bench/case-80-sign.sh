# SPDX-License-Identifier: ISC
# Signed events: evfilter signing (--sign-key) and verifying (--verify-keys)
# every event, in events/s, beside libsodium's bare Ed25519 on the same lines
# (bench/sodium-sign.c: the cryptography alone, no canonical form). The
# canonical form (RFC 8785) and the JSON around it are what the ratio to the
# baseline costs. On $SLOW_N events: both run at the speed of the curve.
if ${CC:-cc} -O2 -o "$W/sodium-sign" "$HERE/sodium-sign.c" $(pkg-config --cflags --libs libsodium) \
    2> "$W/sodium-sign.err"; then
	evspool keygen "$W/sign.key" bench /bench '*' > /dev/null
	mkdir -p "$W/keys" && cp "$W/sign.key.pub" "$W/keys/"
	"$W/sodium-sign" sign < "$SLOW" > "$W/sodium-signed.ndjson"
	evfilter --sign-key "$W/sign.key" true < "$SLOW" > "$W/signed.ndjson"
	row sign "libsodium crypto_sign_detached per line (bench/sodium-sign.c)" "$SLOW" \
		"\"$W/sodium-sign\" sign"
	row sign "evfilter --sign-key key true" "$SLOW" "evfilter --sign-key \"$W/sign.key\" true"
	row sign "evfilter true (no signature)" "$SLOW" "evfilter true"
	row verify "libsodium crypto_sign_verify_detached per line" "$W/sodium-signed.ndjson" \
		"\"$W/sodium-sign\" verify"
	row verify "evfilter --verify-keys keys true" "$W/signed.ndjson" \
		"evfilter --verify-keys \"$W/keys\" true"
else
	skip sign "libsodium's headers are missing: $(head -1 "$W/sodium-sign.err")"
fi
# --prometheus: the cost of keeping the metrics file (written every 2 s and
# at the end) against the same run without it.
row metrics "evfilter true" "$EVENTS" "evfilter true"
row metrics "evfilter --prometheus file true" "$EVENTS" "evfilter --prometheus \"$W/m.prom\" true"
# Tracing: events that carry a traceparent, read by evfilter without and
# with --otlp: every trace sampled (a span for each event, written to a
# file), then traces sampled at the source at 1 in 100 (evemit with
# OTEL_TRACES_SAMPLER=traceidratio: the others pass their traceparent on,
# flag 00, and cost only its look-up); and events without one.
evemit -f --otlp "$W/emit.otlp" < "$EVENTS" > "$W/traced.ndjson"
OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.01 \
	evemit -f --otlp "$W/emit1.otlp" < "$EVENTS" > "$W/traced1.ndjson"
row tracing "evfilter true (traced events, no --otlp)" "$W/traced.ndjson" "evfilter true"
row tracing "evfilter --otlp file true (every event sampled)" "$W/traced.ndjson" \
	"evfilter --otlp \"$W/spans.otlp\" true"
row tracing "evfilter --otlp file true (1 in 100 sampled)" "$W/traced1.ndjson" \
	"evfilter --otlp \"$W/spans1.otlp\" true"
row tracing-none "evfilter true (events without traceparent)" "$EVENTS" "evfilter true"
row tracing-none "evfilter --otlp file true" "$EVENTS" "evfilter --otlp \"$W/spans0.otlp\" true"
