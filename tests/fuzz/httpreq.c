/* SPDX-License-Identifier: ISC */
/* Fuzz evhttp's request handling as its ingest does it, without a socket:
 * the webhook signature check (ev_whsig_request: Standard Webhooks and
 * GitHub), then the body in every mode (ev_ingest_parse: structured,
 * binary with ce-* headers, batched, NDJSON, plain JSON).
 *
 * The input is a request: a byte of flags, then header lines "Name: value"
 * up to an empty line, then the body (Content-Type is one of the headers).
 * Flags: 1 a Standard Webhooks key, 2 a GitHub secret, 4 a route type for
 * plain JSON, 8 a default source, 16 the body changed after signing. A
 * header value holding "@sign" gets the right signature in its place
 * (webhook-signature: "v1,BASE64" over the webhook-id and -timestamp as
 * given; x-hub-signature-256: "sha256=HEX"), so the fuzzer reaches the
 * verified paths; the clock is fixed at NOW.
 *
 * Checked: no crash, no leak; a signature made with the key verifies when
 * its id is there and its timestamp is in the tolerance, and not when the
 * body changed or the timestamp is out; a refusal always says why; an
 * accepted body gives exactly n lines, each one JSON object with a type
 * and the specversion, id and time evhttp fills in; a refused one gives
 * 400 or 415, a reason and no output. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "event/event.h"
#include "http/ingest.h"
#include "http/whsig.h"
#include "json/jsonscan.h"

#include "fuzz.h"

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */
#define TOLERANCE 300
#define MAXHDRS 128      /* as evhttp: headers looked at per request */

static const unsigned char whkey[] = "a Standard Webhooks key of 32 b";
static const unsigned char ghkey[] = "It's a Secret to Everybody";

struct req {
	struct ev_hdr h[MAXHDRS];
	char *names[MAXHDRS], *values[MAXHDRS];
	size_t n;
	char *body;
	size_t len;
};

static void
reqfree(struct req *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->body);
}

/* Header lines up to an empty line (or the end), then the body. */
static void
parsereq(const uint8_t *data, size_t size, struct req *r)
{
	const char *p = (const char *)data, *end = p + size;

	r->n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *colon;

		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {
			p = nl ? nl + 1 : end;
			break;
		}
		if (r->n < MAXHDRS) {
			colon = memchr(p, ':', (size_t)(le - p));
			const char *ve = colon ? colon + 1 : le;
			while (ve < le && (*ve == ' ' || *ve == '\t'))
				ve++;
			r->names[r->n] = ev_strndup(p, (size_t)((colon ? colon : le) - p));
			r->values[r->n] = ev_strndup(ve, (size_t)(le - ve));
			r->n++;
		}
		p = nl ? nl + 1 : end;
	}
	r->len = (size_t)(end - p);
	r->body = ev_malloc(r->len + 2); /* room for a changed byte, and a NUL */
	memcpy(r->body, p, r->len);
	r->body[r->len] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		r->h[i].name = r->names[i];
		r->h[i].value = r->values[i];
	}
}

static void
hmac(const unsigned char *key, size_t keylen, const char *id, const char *ts,
    const struct req *r, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	if (id) {
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	}
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)r->body, r->len);
	crypto_auth_hmacsha256_final(&st, mac);
}

/* Put the signature in place of "@sign" in the value of header i: 1 when
 * it stands there as an entry of its own (space-separated), else 0. */
static int
sign(struct req *r, size_t i, const char *sig)
{
	char *v = r->values[i], *at = strstr(v, "@sign");
	struct ev_buf b = { 0 };
	int alone = (at == v || at[-1] == ' ') && (at[5] == '\0' || at[5] == ' ');

	ev_buf_add(&b, v, (size_t)(at - v));
	ev_buf_adds(&b, sig);
	ev_buf_adds(&b, at + 5);
	free(v);
	r->values[i] = b.p;
	r->h[i].value = b.p;
	return alone;
}

/* The index of the header ev_hdr_get finds, or -1. */
static long
hdrindex(const struct req *r, const char *name)
{
	const char *v = ev_hdr_get(r->h, r->n, name);

	for (size_t i = 0; v && i < r->n; i++)
		if (r->h[i].value == v)
			return (long)i;
	return -1;
}

/* A Standard Webhooks timestamp in the tolerance of NOW? */
static int
intime(const char *ts)
{
	long long v = 0;

	if (!ts || !*ts)
		return 0;
	for (; *ts; ts++) {
		if (*ts < '0' || *ts > '9')
			return 0;
		if (v < 100000000000LL)
			v = v * 10 + (*ts - '0');
	}
	return v >= NOW - TOLERANCE && v <= NOW + TOLERANCE;
}

/* Sign what asks for it; 1: the request must verify, -1: it must not (a
 * signature made without the key cannot verify). */
static int
signall(struct req *r, unsigned flags)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char sig[EV_WHSIG_SIGMAX + 8];
	long ws = hdrindex(r, "webhook-signature"), gs = hdrindex(r, "x-hub-signature-256");
	int want = -1;

	if (!(flags & 3))
		return 1;
	if ((flags & 1) && ws >= 0) {
		const char *id = ev_hdr_get(r->h, r->n, "webhook-id");
		const char *ts = ev_hdr_get(r->h, r->n, "webhook-timestamp");
		if (id && *id && intime(ts) && strstr(r->values[ws], "@sign")) {
			hmac(whkey, sizeof whkey - 1, id, ts, r, mac);
			memcpy(sig, "v1,", 3);
			sodium_bin2base64(sig + 3, sizeof sig - 3, mac, sizeof mac,
			    sodium_base64_VARIANT_ORIGINAL);
			want = sign(r, (size_t)ws, sig) ? 1 : -1;
		}
	} else if ((flags & 2) && gs >= 0) {
		if (strstr(r->values[gs], "@sign")) {
			hmac(ghkey, sizeof ghkey - 1, NULL, NULL, r, mac);
			memcpy(sig, "sha256=", 7);
			sodium_bin2hex(sig + 7, sizeof sig - 7, mac, sizeof mac);
			sign(r, (size_t)gs, sig);
			want = strcmp(r->values[gs], sig) == 0 ? 1 : -1;
		}
	}
	if (want == 1 && (flags & 16)) {
		r->body[r->len++] = '\0'; /* one byte more: a NUL */
		r->body[r->len] = '\0';
		want = -1;
	}
	return want;
}

/* The n event lines from p to end. */
static void
checkevents(const char *p, const char *end, size_t n)
{
	size_t lines = 0;
	struct ev_jerr je;
	const char *v;
	size_t vlen;

	FUZZ_ASSERT(p == end || end[-1] == '\n', "the events do not end a line");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(nl - p);

		lines++;
		FUZZ_ASSERT(ev_json_valid(p, len, &je) == 0, "event %zu: %s at %zu: %.*s", lines,
		    je.msg, je.off, (int)len, p);
		FUZZ_ASSERT(p[strspn(p, " \t")] == '{', "event %zu is not an object: %.*s", lines,
		    (int)len, p);
		FUZZ_ASSERT(ev_event_getattr(p, len, "type", &v, &vlen) == 1,
		    "event %zu has no type: %.*s", lines, (int)len, p);
		FUZZ_ASSERT(ev_event_getattr(p, len, "specversion", &v, &vlen) == 1 &&
		    ev_event_getattr(p, len, "id", &v, &vlen) == 1 &&
		    ev_event_getattr(p, len, "time", &v, &vlen) == 1,
		    "event %zu lacks specversion, id or time: %.*s", lines, (int)len, p);
		p = nl + 1;
	}
	FUZZ_ASSERT(lines == n, "%zu events said, %zu lines given", n, lines);
}

/* Binary mode: the one event's data is the body, as JSON (line breaks
 * made spaces), as a string, or in data_base64; no body, no data. */
static void
checkbinary(const char *p, size_t len, const struct req *r)
{
	static struct ev_jpath *paths[2];
	static struct ev_buf tmp;
	struct ev_jval v[2];
	unsigned char *bin;
	size_t binlen = 0, b = 0, e = r->len;

	if (!paths[0]) {
		paths[0] = ev_jpath_compile(".data", &tmp);
		paths[1] = ev_jpath_compile(".data_base64", &tmp);
	}
	FUZZ_ASSERT(ev_json_scan(p, len, paths, 2, v, NULL) == 0, "binary: not JSON");
	if (r->len == 0) {
		FUZZ_ASSERT(v[0].type == EV_J_MISSING && v[1].type == EV_J_MISSING,
		    "binary: data without a body: %.*s", (int)len, p);
		return;
	}
	if (v[1].type != EV_J_MISSING) {
		FUZZ_ASSERT(v[0].type == EV_J_MISSING && v[1].type == EV_J_STRING,
		    "binary: data and data_base64: %.*s", (int)len, p);
		bin = ev_malloc(r->len + 1);
		FUZZ_ASSERT(sodium_base642bin(bin, r->len + 1, v[1].p + 1, v[1].len - 2, NULL,
		    &binlen, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 && binlen == r->len &&
		    memcmp(bin, r->body, r->len) == 0, "binary: data_base64 is not the body");
		free(bin);
		return;
	}
	FUZZ_ASSERT(v[0].type != EV_J_MISSING, "binary: a body and no data: %.*s", (int)len, p);
	while (b < e && strchr(" \t\r\n", r->body[b]) && r->body[b])
		b++;
	while (e > b && strchr(" \t\r\n", r->body[e - 1]) && r->body[e - 1])
		e--;
	if (v[0].len == e - b) {
		size_t i;
		for (i = 0; i < v[0].len; i++) {
			char c = r->body[b + i] == '\n' || r->body[b + i] == '\r' ? ' ' : r->body[b + i];
			if (v[0].p[i] != c)
				break;
		}
		if (i == v[0].len)
			return; /* the JSON body as it is */
	}
	FUZZ_ASSERT(v[0].type == EV_J_STRING, "binary: data is not the body: %.*s", (int)len, p);
	ev_buf_reset(&tmp);
	ev_jval_str(&v[0], &tmp);
	FUZZ_ASSERT(tmp.len == r->len && memcmp(tmp.p, r->body, r->len) == 0,
	    "binary: the data string is not the body: %.*s", (int)len, p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ev_buf out, err;
	static int init;
	struct req r;
	unsigned flags;
	size_t n = 99;
	int want, st;

	if (!init) {
		FUZZ_ASSERT(sodium_init() >= 0, "sodium_init");
		fuzz_quiet();
		init = 1;
	}
	if (size == 0)
		return 0;
	flags = data[0];
	parsereq(data + 1, size - 1, &r);
	want = signall(&r, flags);

	struct ev_whsig_keys k = {
		flags & 1 ? whkey : NULL, sizeof whkey - 1,
		flags & 2 ? ghkey : NULL, sizeof ghkey - 1, TOLERANCE
	};
	const char *why = ev_whsig_request(&k, r.h, r.n, r.body, r.len, NOW);
	if (want > 0)
		FUZZ_ASSERT(!why, "a signed request is refused: %s", why);
	if (want < 0)
		FUZZ_ASSERT(why && *why, "a request that must not verify does");
	if (why) {
		reqfree(&r);
		return 0;
	}

	/* evhttp's span of the request, given to the events without one */
	static const struct ev_tracectx span = { .trace = { 1, 2, 3 }, .span = { 4, 5 }, .flags = 1 };
	struct ev_ingest_req ir = {
		.ctype = ev_hdr_get(r.h, r.n, "content-type"),
		.hdrs = r.h, .nhdrs = r.n,
		.type = flags & 4 ? "hook.received" : NULL,
		.source = flags & 8 ? "/fuzz" : NULL,
		.body = r.body, .len = r.len,
		.trace = flags & 16 ? &span : NULL,
	};
	ev_buf_reset(&out);
	ev_buf_adds(&out, "before\n");
	st = ev_ingest_parse(&ir, &out, &n, &err);
	if (st == 0) {
		checkevents(out.p + 7, out.p + out.len, n);
		if (ev_hdr_get(r.h, r.n, "ce-specversion")) {
			FUZZ_ASSERT(n == 1, "binary: %zu events", n);
			checkbinary(out.p + 7, out.len - 8, &r);
		}
		if (ir.source)
			for (const char *p = out.p + 7; *p; p = strchr(p, '\n') + 1) {
				const char *v;
				size_t vlen, len = (size_t)(strchr(p, '\n') - p);
				FUZZ_ASSERT(ev_event_getattr(p, len, "source", &v, &vlen) == 1,
				    "no source: %.*s", (int)len, p);
			}
	} else {
		FUZZ_ASSERT(st == 400 || st == 415, "status %d", st);
		FUZZ_ASSERT(err.len > 0, "refused (%d) without a reason", st);
		FUZZ_ASSERT(n == 0 && out.len == 7 && strcmp(out.p, "before\n") == 0,
		    "a refused body left %zu events, %zu bytes", n, out.len - 7);
	}
	reqfree(&r);
	return 0;
}
