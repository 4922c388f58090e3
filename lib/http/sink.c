/* SPDX-License-Identifier: ISC */
/* sink.c — an HTTP(S) endpoint as a sink: each event POSTed with libcurl.
 *
 * The wire, as evkit uses it (ev-http(7) says the same to users):
 *
 * Requests. Every event is one POST in the CloudEvents HTTP binding's
 * structured mode (Content-Type application/cloudevents+json, the event's
 * JSON unchanged as the body), or in its binary mode (each attribute a
 * ce-NAME header, the data as the body, datacontenttype as Content-Type),
 * or up to batch_size events are one POST in its batched mode (a JSON
 * array, application/cloudevents-batch+json). A request is a "unit": one
 * event, or one batch of consecutive events. Connections are kept alive
 * and reused (libcurl's connection cache, one multi handle per sink).
 *
 * Signing. With a secret, each attempt carries the Standard Webhooks
 * headers: webhook-id (the event's id, or a UUIDv7 made once per unit,
 * the same on every attempt), webhook-timestamp (the attempt's Unix
 * seconds) and webhook-signature (HMAC-SHA256 over "id.timestamp.body").
 *
 * Answers. 2xx: delivered. 408, 429, 5xx, or no answer (connection
 * refused or lost, timeout): temporary, retried with exponential backoff
 * (0.1 s to 5 s with jitter, at least Retry-After) for up to `retry` from
 * the start of the outage, then the sink fails with ETIMEDOUT or
 * ECONNREFUSED (the tool ends with 111 and commits nothing more). Any
 * other answer: the unit's events are refused, handed back through
 * ev_sink_refused() with the status and the start of the answer's body.
 * A failure libcurl calls permanent (a bad certificate, a protocol that is
 * not HTTP) ends the sink with EPROTO (status 2).
 *
 * Order and commits. Up to `parallel` units are outstanding at once (sent,
 * or waiting to be sent again); with the default of 1 the endpoint sees
 * the events in order, a retried one before any later one. Commit waits
 * until every unit so far is delivered or refused: the input position
 * moves only past what the endpoint answered for.
 */
#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/time.h"
#include "event/uuid.h"
#include "http/url.h"
#include "http/whsig.h"
#include "io/backend.h"
#include "io/refused.h"
#include "json/jsonscan.h"

#define CT_STRUCTURED "Content-Type: application/cloudevents+json; charset=utf-8"
#define CT_BATCH "Content-Type: application/cloudevents-batch+json; charset=utf-8"
#define WINDOW_MSGS 16384        /* events taken before write waits for answers */
#define WINDOW_BYTES (16 << 20)
#define BATCH_BYTES (1 << 20)    /* a batch is sent once it holds this much */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define ANSWER_KEEP 200          /* bytes of a refusal's body kept for the report */
#define WID_MAX 64

struct rec {
	size_t off;                 /* the event's bytes at arena + off */
	uint32_t len;
};

enum { U_NEW, U_SENT, U_WAIT, U_DONE };

struct unit {
	size_t first;               /* recs[first .. first + n) */
	uint32_t n;
	unsigned char state;
	int64_t due;                /* U_WAIT: when to send again (monotonic ms) */
	int64_t delay;              /* the next backoff */
	char wid[WID_MAX];          /* webhook-id, made at the first attempt */
};

struct slot {
	CURL *h;
	struct curl_slist *hdrs;
	struct ev_buf body, answer;
	size_t unit;
	int busy;
	char errbuf[CURL_ERROR_SIZE];
};

struct httpsink {
	struct ev_http_conf cf;
	enum ev_sync sync;
	CURLM *multi;
	struct slot slots[EV_HTTP_MAXPARALLEL];
	struct ev_buf arena;
	struct rec *recs;
	size_t nrec, caprec;
	struct unit *units;
	size_t nunit, capunit, ndone;
	size_t next;                /* the first unit never sent */
	size_t batchfirst;          /* EV_HTTP_BATCH: recs from here are not in a unit yet */
	size_t batchbytes;
	size_t out[EV_HTTP_MAXPARALLEL]; /* outstanding units: U_SENT or U_WAIT */
	unsigned nout;
	struct ev_jpath *idpath;
	struct ev_refused refused;  /* events refused, for ev_sink_refused */
	struct ev_buf why, tmp, hdr, ctype;
	unsigned char *key;         /* the signing key, decoded from the secret */
	size_t keylen;
	int64_t downsince;          /* monotonic ms when the outage began, or 0 */
	int reported;
	int failed;                 /* errno of a failure that ended the sink */
};

static int curl_users;

/* ---- building a request ---- */

/* Past the JSON value at p, in text the scanner has validated. */
static const char *
skipval(const char *p, const char *e)
{
	int depth = 0;

	do {
		if (*p == '"') {
			for (p++; *p != '"'; p++)
				if (*p == '\\')
					p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			depth--;
		} else if (depth == 0) {
			while (p + 1 < e && !strchr(",}] \t\r\n", p[1]))
				p++;
		}
		p++;
	} while (depth > 0 && p < e);
	return p;
}

static const char *
skipws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* A CloudEvents attribute name: 1 to 20 lowercase letters or digits. */
static int
attrname(const char *s, size_t n)
{
	if (n == 0 || n > 20)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* A header value as the HTTP binding writes strings: UTF-8, with space,
 * '"', '%' and everything outside '!'..'~' percent-encoded. */
static void
pctencode(struct ev_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > ' ' && c < 0x7f && c != '"' && c != '%') {
			ev_buf_addc(b, (char)c);
			continue;
		}
		ev_buf_addc(b, '%');
		ev_buf_addc(b, hex[c >> 4]);
		ev_buf_addc(b, hex[c & 15]);
	}
}

static int
jsonct(const char *ct, size_t n)
{
	size_t m = strcspn(ct, ";");

	if (m < n)
		n = m;
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	    (n == 9 && strncasecmp(ct, "text/json", 9) == 0) ||
	    (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

static void
addhdr(struct slot *s, const char *h)
{
	s->hdrs = curl_slist_append(s->hdrs, h);
}

/* The string value [vb, ve), decoded, appended to b. */
static void
addstr(struct ev_buf *b, const char *vb, const char *ve)
{
	struct ev_jval v = { .type = EV_J_STRING, .p = vb, .len = (size_t)(ve - vb),
		.escaped = memchr(vb, '\\', (size_t)(ve - vb)) != NULL };

	ev_jval_str(&v, b);
}

/* Binary mode's Content-Type, from datacontenttype [vb, ve): the header
 * added; its value in *ct. -1 refuses the event. */
static int
contenttype(struct httpsink *k, struct slot *s, const char *vb, const char *ve, const char **ct)
{
	if (*vb != '"') {
		ev_buf_adds(&k->why, "binary mode: datacontenttype is not a string");
		return -1;
	}
	ev_buf_reset(&k->ctype);
	ev_buf_adds(&k->ctype, "Content-Type: ");
	addstr(&k->ctype, vb, ve);
	for (size_t i = 0; i < k->ctype.len; i++)
		if ((unsigned char)k->ctype.p[i] < ' ' || k->ctype.p[i] == 0x7f) {
			ev_buf_adds(&k->why, "binary mode: datacontenttype holds a control character");
			return -1;
		}
	addhdr(s, k->ctype.p);
	*ct = k->ctype.p + 14;
	return 0;
}

/* Binary mode: attribute [kb, kb + kn) = [vb, ve) as a ce- header (or the
 * Content-Type). -1 refuses the event. */
static int
attrheader(struct httpsink *k, struct slot *s, const char *kb, size_t kn, const char *vb,
    const char *ve, const char **ct)
{
	if (memchr(kb, '\\', kn) || !attrname(kb, kn)) {
		ev_buf_printf(&k->why, "binary mode: '%.*s' is not an attribute name "
		    "(1 to 20 lowercase letters and digits)", (int)kn, kb);
		return -1;
	}
	if (*vb == 'n')
		return 0; /* null: as if absent */
	if (*vb == '{' || *vb == '[') {
		ev_buf_printf(&k->why, "binary mode: attribute '%.*s' is not a string, "
		    "number or boolean", (int)kn, kb);
		return -1;
	}
	if (kn == 15 && !memcmp(kb, "datacontenttype", 15))
		return contenttype(k, s, vb, ve, ct);
	ev_buf_reset(&k->hdr);
	ev_buf_printf(&k->hdr, "ce-%.*s: ", (int)kn, kb);
	if (*vb == '"') {
		ev_buf_reset(&k->tmp);
		addstr(&k->tmp, vb, ve);
		pctencode(&k->hdr, k->tmp.p, k->tmp.len);
	} else {
		ev_buf_add(&k->hdr, vb, (size_t)(ve - vb));
	}
	addhdr(s, k->hdr.p);
	return 0;
}

/* Binary mode's body: data (JSON, or a string's text for a type that is
 * not JSON) or data_base64 decoded (b64); ct: the Content-Type given, or
 * NULL for the default. -1 refuses the event. */
static int
binarybody(struct httpsink *k, struct slot *s, const char *data, size_t datalen, int b64,
    const char *ct)
{
	int datastr = data && *data == '"';

	ev_buf_reset(&s->body);
	if (!data || *data == 'n') {
		if (!ct)
			addhdr(s, "Content-Type:"); /* no body, no type */
		return 0;
	}
	if (b64) {
		if (!datastr) {
			ev_buf_adds(&k->why, "binary mode: data_base64 is not a string");
			return -1;
		}
		size_t bin;
		ev_buf_grow(&s->body, datalen);
		if (sodium_base642bin((unsigned char *)s->body.p, datalen, data + 1, datalen - 2,
		    NULL, &bin, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			ev_buf_adds(&k->why, "binary mode: data_base64 is not base64");
			return -1;
		}
		s->body.len = bin;
		if (!ct)
			addhdr(s, "Content-Type: application/octet-stream");
		return 0;
	}
	if (datastr && ct && !jsonct(ct, strlen(ct)))
		addstr(&s->body, data, data + datalen);
	else
		ev_buf_add(&s->body, data, datalen);
	if (!ct)
		addhdr(s, "Content-Type: application/json");
	return 0;
}

/* Binary mode: the event's attributes become ce-* headers, its data the
 * body. -1 refuses the event (the reason in k->why). */
static int
binary(struct httpsink *k, struct slot *s, const char *line, size_t len)
{
	const char *p = line, *e = line + len, *data = NULL, *ct = NULL;
	size_t datalen = 0;
	int b64 = 0;

	if (ev_json_valid(line, len, NULL) < 0 || *(p = skipws(p, e)) != '{') {
		ev_buf_adds(&k->why, "binary mode needs a JSON object");
		return -1;
	}
	p = skipws(p + 1, e);
	while (p < e && *p == '"') {
		const char *kb = p + 1, *ke = skipval(p, e) - 1;
		const char *vb = skipws(skipws(ke + 1, e) + 1, e); /* past ':' */
		const char *ve = skipval(vb, e);
		size_t kn = (size_t)(ke - kb);
		p = skipws(ve, e);
		p = skipws(p + (*p == ','), e);
		if ((kn == 4 && !memcmp(kb, "data", 4)) || (kn == 11 && !memcmp(kb, "data_base64", 11))) {
			data = vb;
			datalen = (size_t)(ve - vb);
			b64 = kn == 11;
		} else if (attrheader(k, s, kb, kn, vb, ve, &ct) < 0) {
			return -1;
		}
	}
	return binarybody(k, s, data, datalen, b64, ct);
}

/* webhook-id: the event's id when it is a plain token, else a UUIDv7;
 * -1 when none could be made (reported). */
static int
makewid(struct httpsink *k, struct unit *u)
{
	struct rec *r = &k->recs[u->first];
	struct ev_jval v;

	if (u->n == 1 && ev_json_scan(k->arena.p + r->off, r->len, &k->idpath, 1, &v, NULL) == 0 &&
	    v.type == EV_J_STRING && !v.escaped && v.len > 2 && v.len - 2 < WID_MAX) {
		int plain = 1;
		for (size_t i = 1; i + 1 < v.len; i++)
			if (v.p[i] <= ' ' || v.p[i] > '~')
				plain = 0;
		if (plain) {
			memcpy(u->wid, v.p + 1, v.len - 2);
			u->wid[v.len - 2] = '\0';
			return 0;
		}
	}
	return ev_uuid7(u->wid);
}

/* The Standard Webhooks headers for this attempt's body. */
static void
sign(struct httpsink *k, struct slot *s, struct unit *u)
{
	char sig[EV_WHSIG_SIGMAX];
	long long ts = (long long)time(NULL);

	ev_whsig_sign(k->key, k->keylen, u->wid, ts, s->body.p ? s->body.p : "", s->body.len,
	    sig, sizeof sig);
	ev_buf_reset(&k->hdr);
	ev_buf_printf(&k->hdr, "webhook-id: %s", u->wid);
	addhdr(s, k->hdr.p);
	ev_buf_reset(&k->hdr);
	ev_buf_printf(&k->hdr, "webhook-timestamp: %lld", ts);
	addhdr(s, k->hdr.p);
	ev_buf_reset(&k->hdr);
	ev_buf_printf(&k->hdr, "webhook-signature: %s", sig);
	addhdr(s, k->hdr.p);
}

/* The request for unit u in slot s; -1 refuses the unit (why in k->why). */
static int
build(struct httpsink *k, struct slot *s, struct unit *u)
{
	struct rec *r = &k->recs[u->first];

	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	ev_buf_reset(&s->body);
	ev_buf_reset(&s->answer);
	ev_buf_reset(&k->why);
	addhdr(s, "Expect:");
	switch (k->cf.mode) {
	case EV_HTTP_STRUCTURED:
		addhdr(s, CT_STRUCTURED);
		ev_buf_add(&s->body, k->arena.p + r->off, r->len);
		break;
	case EV_HTTP_BINARY:
		if (binary(k, s, k->arena.p + r->off, r->len) < 0)
			return -1;
		break;
	case EV_HTTP_BATCH:
		addhdr(s, CT_BATCH);
		ev_buf_addc(&s->body, '[');
		for (uint32_t i = 0; i < u->n; i++) {
			if (i)
				ev_buf_addc(&s->body, ',');
			ev_buf_add(&s->body, k->arena.p + r[i].off, r[i].len);
		}
		ev_buf_addc(&s->body, ']');
		break;
	}
	if (k->cf.token) {
		ev_buf_reset(&k->hdr);
		ev_buf_printf(&k->hdr, "Authorization: Bearer %s", k->cf.token);
		addhdr(s, k->hdr.p);
	}
	if (!u->wid[0] && makewid(k, u) < 0) {
		ev_buf_adds(&k->why, "no webhook-id could be made (no random bytes)");
		return -1;
	}
	if (k->key)
		sign(k, s, u);
	return 0;
}

/* ---- sending and answers ---- */

static size_t
keepanswer(char *p, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t len = size * n;

	if (s->answer.len < ANSWER_KEEP)
		ev_buf_add(&s->answer, p, len < ANSWER_KEEP - s->answer.len ? len : ANSWER_KEEP - s->answer.len);
	return len;
}

static int
slot_init(struct httpsink *k, struct slot *s)
{
	if (!(s->h = curl_easy_init()))
		return -1;
	curl_easy_setopt(s->h, CURLOPT_URL, k->cf.url);
	curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->h, CURLOPT_USERAGENT, "evkit/" EV_VERSION);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, keepanswer);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->h, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, (long)k->cf.timeout_ms);
	curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT_MS, (long)k->cf.connect_ms);
	curl_easy_setopt(s->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (k->cf.tls) {
		curl_easy_setopt(s->h, CURLOPT_SSL_VERIFYPEER, (long)k->cf.verify);
		curl_easy_setopt(s->h, CURLOPT_SSL_VERIFYHOST, k->cf.verify ? 2L : 0L);
		if (k->cf.cacertfile)
			curl_easy_setopt(s->h, CURLOPT_CAINFO, k->cf.cacertfile);
		if (k->cf.certfile) {
			curl_easy_setopt(s->h, CURLOPT_SSLCERT, k->cf.certfile);
			curl_easy_setopt(s->h, CURLOPT_SSLKEY, k->cf.keyfile);
		}
	}
	return 0;
}

static void
finish(struct httpsink *k, size_t ui)
{
	k->units[ui].state = U_DONE;
	k->ndone++;
	for (unsigned i = 0; i < k->nout; i++)
		if (k->out[i] == ui) {
			k->out[i] = k->out[--k->nout];
			break;
		}
}

static void
refuse(struct httpsink *k, size_t ui, const char *why)
{
	struct unit *u = &k->units[ui];

	for (uint32_t i = 0; i < u->n; i++) {
		struct rec *r = &k->recs[u->first + i];
		ev_refused_add(&k->refused, k->arena.p + r->off, r->len, why);
	}
	finish(k, ui);
}

/* Send unit ui in a free slot. */
static void
start(struct httpsink *k, size_t ui)
{
	struct unit *u = &k->units[ui];
	struct slot *s = NULL;

	for (unsigned i = 0; i < k->cf.parallel && !s; i++)
		if (!k->slots[i].busy)
			s = &k->slots[i];
	if (build(k, s, u) < 0) {
		refuse(k, ui, k->why.p);
		return;
	}
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, s->body.p ? s->body.p : "");
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body.len);
	s->errbuf[0] = '\0';
	s->unit = ui;
	s->busy = 1;
	u->state = U_SENT;
	curl_multi_add_handle(k->multi, s->h);
}

/* Send what is due: units waiting to be sent again, then new ones while
 * fewer than `parallel` are outstanding. */
static void
startdue(struct httpsink *k)
{
	int64_t now = ev_mono_ms();

	for (unsigned i = k->nout; i-- > 0;) { /* start() may take one out */
		struct unit *u = &k->units[k->out[i]];
		if (u->state == U_WAIT && u->due <= now)
			start(k, k->out[i]);
	}
	while (k->nout < k->cf.parallel && k->next < k->nunit) {
		size_t ui = k->next++;
		k->out[k->nout++] = ui;
		start(k, ui);
	}
}

/* A temporary failure of unit ui (what in k->why): wait and send again,
 * or give up when the outage has lasted `retry`. */
static void
again(struct httpsink *k, size_t ui, int64_t retry_after_ms, int err)
{
	struct unit *u = &k->units[ui];
	int64_t now = ev_mono_ms(), delay;
	char d[32];

	if (!k->downsince)
		k->downsince = now;
	if (!u->delay)
		u->delay = BACKOFF_MIN_MS;
	delay = ev_backoff_next(&u->delay, BACKOFF_MAX_MS, now);
	if (delay < retry_after_ms)
		delay = retry_after_ms;
	if (k->cf.retry_ms >= 0 && now - k->downsince + delay > k->cf.retry_ms) {
		ev_dur_format(k->cf.retry_ms, d, sizeof d);
		if (retry_after_ms > k->cf.retry_ms - (now - k->downsince))
			ev_warn("%s: %s; the endpoint asks to wait %lld s (Retry-After), "
			    "longer than retry=%s allows", k->cf.name, k->why.p,
			    (long long)(retry_after_ms / 1000), d);
		else if (k->reported)
			ev_warn("%s: %s; gave up after retrying for %s", k->cf.name, k->why.p, d);
		else
			ev_warn("%s: %s", k->cf.name, k->why.p);
		k->failed = err;
		return;
	}
	if (!k->reported) {
		if (k->cf.retry_ms >= 0)
			ev_dur_format(k->cf.retry_ms, d, sizeof d);
		ev_warn("%s: %s; retrying for up to %s", k->cf.name, k->why.p,
		    k->cf.retry_ms >= 0 ? d : "ever");
		k->reported = 1;
	}
	u->state = U_WAIT;
	u->due = now + delay;
}

/* What libcurl failures are: temporary (errno to end with) or permanent (0). */
static int
temperr(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE: case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: case CURLE_AGAIN:
		return ECONNRESET;
	default:
		return 0;
	}
}

/* The start of an answer's body, on one line, for a report. */
static void
answertext(struct ev_buf *why, const struct ev_buf *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->len; i++)
		if (a->p[i] > ' ' && a->p[i] != 0x7f)
			n = i + 1;
	if (!n)
		return;
	ev_buf_adds(why, ": ");
	for (size_t i = 0; i < n; i++)
		ev_buf_addc(why, (unsigned char)a->p[i] < ' ' || a->p[i] == 0x7f ? ' ' : a->p[i]);
}

static void
answered(struct httpsink *k, struct slot *s, CURLcode rc)
{
	size_t ui = s->unit;
	long status = 0;
	curl_off_t after = 0;
	char d[32];
	int err;

	curl_multi_remove_handle(k->multi, s->h);
	s->busy = 0;
	ev_buf_reset(&k->why);
	if (rc != CURLE_OK) {
		ev_buf_printf(&k->why, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
		if (!(err = temperr(rc))) {
			ev_warn("%s: %s", k->cf.name, k->why.p);
			k->failed = EPROTO;
			return;
		}
		again(k, ui, 0, err);
		return;
	}
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (k->downsince && k->reported) {
			ev_dur_format(ev_mono_ms() - k->downsince, d, sizeof d);
			ev_warn("%s: delivering again after %s", k->cf.name, d);
		}
		k->downsince = 0;
		k->reported = 0;
		finish(k, ui);
		return;
	}
	ev_buf_printf(&k->why, "HTTP %ld", status);
	answertext(&k->why, &s->answer);
	if (status == 408 || status == 429 || status >= 500) {
		curl_easy_getinfo(s->h, CURLINFO_RETRY_AFTER, &after);
		again(k, ui, (int64_t)after * 1000, ETIMEDOUT);
		return;
	}
	ev_buf_reset(&k->why);
	ev_buf_printf(&k->why, "refused by the endpoint: HTTP %ld", status);
	answertext(&k->why, &s->answer);
	refuse(k, ui, k->why.p);
}

/* One round: send what is due, let libcurl work, take the answers; with
 * wait, first wait for something to happen (at most until the next unit
 * is due). 0, or -1 once the sink has failed. */
static int
pump(struct httpsink *k, int wait)
{
	int running, nmsg;
	CURLMsg *m;

	startdue(k);
	if (wait) {
		int64_t t = 1000, now = ev_mono_ms();
		for (unsigned i = 0; i < k->nout; i++) {
			struct unit *u = &k->units[k->out[i]];
			if (u->state == U_WAIT && u->due - now < t)
				t = u->due - now > 0 ? u->due - now : 0;
		}
		curl_multi_poll(k->multi, NULL, 0, (int)t, NULL);
	}
	curl_multi_perform(k->multi, &running);
	while ((m = curl_multi_info_read(k->multi, &nmsg)))
		if (m->msg == CURLMSG_DONE)
			for (unsigned i = 0; i < k->cf.parallel; i++)
				if (k->slots[i].busy && k->slots[i].h == m->easy_handle) {
					answered(k, &k->slots[i], m->data.result);
					break;
				}
	if (k->failed) {
		errno = k->failed;
		return -1;
	}
	return 0;
}

/* ---- the sink ---- */

static void
closebatch(struct httpsink *k)
{
	if (k->batchfirst >= k->nrec)
		return;
	if (k->nunit == k->capunit) {
		k->capunit = k->capunit ? k->capunit * 2 : 256;
		k->units = ev_reallocarray(k->units, k->capunit, sizeof *k->units);
	}
	k->units[k->nunit++] = (struct unit){ .first = k->batchfirst,
		.n = (uint32_t)(k->nrec - k->batchfirst) };
	k->batchfirst = k->nrec;
	k->batchbytes = 0;
}

static int
sinkfail(struct httpsink *k)
{
	errno = k->failed;
	return -1;
}

/* Wait until every unit is answered for, then forget them. */
static int
settleall(struct httpsink *k)
{
	closebatch(k);
	while (k->ndone < k->nunit)
		if (pump(k, 1) < 0)
			return -1;
	k->nrec = k->nunit = k->ndone = k->next = k->batchfirst = 0;
	ev_buf_reset(&k->arena);
	return 0;
}

static int
httpsink_commit(void *impl)
{
	struct httpsink *k = impl;

	if (k->failed)
		return sinkfail(k);
	if (k->sync == EV_SYNC_NONE) {
		closebatch(k);
		return pump(k, 0);
	}
	return settleall(k);
}

static int
httpsink_write(void *impl, const char *line, size_t len)
{
	struct httpsink *k = impl;

	if (k->failed)
		return sinkfail(k);
	if ((k->nrec >= WINDOW_MSGS || k->arena.len >= WINDOW_BYTES) && settleall(k) < 0)
		return -1;
	if (k->nrec == k->caprec) {
		k->caprec = k->caprec ? k->caprec * 2 : 1024;
		k->recs = ev_reallocarray(k->recs, k->caprec, sizeof *k->recs);
	}
	k->recs[k->nrec++] = (struct rec){ .off = k->arena.len, .len = (uint32_t)len };
	ev_buf_add(&k->arena, line, len);
	k->batchbytes += len + 1;
	if (k->cf.mode != EV_HTTP_BATCH || k->nrec - k->batchfirst >= k->cf.batch_size ||
	    k->batchbytes >= BATCH_BYTES)
		closebatch(k);
	if (k->sync == EV_SYNC_ALWAYS)
		return settleall(k);
	/* keep the requests going while the tool reads on */
	if ((k->nout < k->cf.parallel && k->next < k->nunit) || k->nrec % 64 == 0)
		return pump(k, 0);
	return 0;
}

static int
httpsink_refused(void *impl, struct ev_line *l, const char **why)
{
	struct httpsink *k = impl;

	return ev_refused_next(&k->refused, l, why);
}

static void
freesink(struct httpsink *k)
{
	for (unsigned i = 0; i < EV_HTTP_MAXPARALLEL; i++) {
		struct slot *s = &k->slots[i];
		if (s->h) {
			if (s->busy)
				curl_multi_remove_handle(k->multi, s->h);
			curl_easy_cleanup(s->h);
		}
		curl_slist_free_all(s->hdrs);
		ev_buf_free(&s->body);
		ev_buf_free(&s->answer);
	}
	if (k->multi)
		curl_multi_cleanup(k->multi);
	if (k->key) {
		sodium_memzero(k->key, EV_WHSIG_KEYMAX);
		free(k->key);
	}
	ev_http_conf_free(&k->cf);
	ev_jpath_free(k->idpath);
	ev_buf_free(&k->arena);
	ev_refused_free(&k->refused);
	ev_buf_free(&k->why);
	ev_buf_free(&k->tmp);
	ev_buf_free(&k->hdr);
	ev_buf_free(&k->ctype);
	free(k->recs);
	free(k->units);
	free(k);
	if (--curl_users == 0)
		curl_global_cleanup();
}

static int
httpsink_close(void *impl)
{
	struct httpsink *k = impl;
	struct ev_line l;
	const char *why;
	int r = k->failed ? sinkfail(k) : settleall(k), err = errno;

	/* Nobody is left to take these: say so, event and all. */
	while (httpsink_refused(k, &l, &why) > 0) {
		ev_warn("%s: %s; not kept: %.*s", k->cf.name, why, (int)l.len, l.p);
		r = -1;
		err = EPROTO;
	}
	freesink(k);
	errno = err;
	return r;
}

static const struct ev_sink_ops httpsink_ops = {
	.write = httpsink_write, .commit = httpsink_commit, .close = httpsink_close,
	.refused = httpsink_refused
};

/* The signing key, from where secret= says. */
static int
setkey(struct httpsink *k)
{
	int n;

	k->key = ev_malloc(EV_WHSIG_KEYMAX);
	if ((n = ev_whsig_loadkey(k->cf.secret, k->key, EV_WHSIG_KEYMAX)) < 0)
		return -1;
	k->keylen = (size_t)n;
	return 0;
}

void *
ev_http_sink_open(const char *loc, enum ev_sync sync, const struct ev_sink_ops **ops)
{
	struct httpsink *k = ev_calloc(1, sizeof *k);
	struct ev_buf err = { 0 };

	if (curl_users++ == 0 && (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || sodium_init() < 0)) {
		ev_warn("%s: libcurl or libsodium could not start", loc);
		goto fail;
	}
	k->sync = sync;
	if (ev_http_parse(loc, &k->cf, &err) < 0) {
		ev_warn("%s: %s", loc, err.p);
		goto fail;
	}
	if (k->cf.secret && setkey(k) < 0)
		goto fail;
	k->idpath = ev_jpath_compile(".id", &err);
	if (!(k->multi = curl_multi_init()))
		goto nomem;
	curl_multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)k->cf.parallel);
	for (unsigned i = 0; i < k->cf.parallel; i++)
		if (slot_init(k, &k->slots[i]) < 0)
			goto nomem;
	ev_buf_free(&err);
	*ops = &httpsink_ops;
	return k;
nomem:
	ev_warn("%s: libcurl could not make a handle", loc);
fail:
	ev_buf_free(&err);
	freesink(k);
	errno = EINVAL;
	return NULL;
}
