/* SPDX-License-Identifier: ISC */
/* AMQP properties and headers to and from event attributes (props.h): the
 * mapping table of ev-amqp(7), both ways, in both content modes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/props.h"
#include "base/buf.h"

#define NOW INT64_C(1795428000000) /* 2026-11-23T10:00:00Z */

static int
bytes_is(amqp_bytes_t b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.bytes, s, b.len) == 0;
}

static const amqp_table_entry_t *
header(const amqp_basic_properties_t *p, const char *key)
{
	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		return NULL;
	for (int i = 0; i < p->headers.num_entries; i++)
		if (bytes_is(p->headers.entries[i].key, key))
			return &p->headers.entries[i];
	return NULL;
}

Test(amqpprops, structured_properties)
{
	static const char ev[] = "{\"specversion\":\"1.0\",\"id\":\"e\\u0031\",\"source\":\"/shop\","
	    "\"type\":\"order.placed\",\"time\":\"2026-11-23T10:00:00.123Z\","
	    "\"expirytime\":\"2026-11-23T10:01:00Z\",\"evpriority\":7,\"priority\":2,"
	    "\"correlationid\":\"c-1\",\"replyto\":\"replies\",\"data\":{\"a\":1}}";
	struct ev_amqp_msg m = { 0 };

	cr_assert_eq(ev_amqp_msg_make(&m, ev, strlen(ev), 0, NOW), 0);
	const amqp_basic_properties_t *p = &m.props;
	cr_expect(bytes_is(m.body, ev), "the body is the event, unchanged");
	cr_expect(bytes_is(p->content_type, EV_AMQP_CE_CTYPE));
	cr_expect_eq(p->delivery_mode, AMQP_DELIVERY_PERSISTENT);
	cr_expect(bytes_is(p->message_id, "e1"), "escapes are decoded");
	cr_expect(bytes_is(p->type, "order.placed"));
	cr_expect(bytes_is(p->app_id, "/shop"));
	cr_expect(bytes_is(p->correlation_id, "c-1"));
	cr_expect(bytes_is(p->reply_to, "replies"));
	cr_expect_eq(p->timestamp, 1795428000u);
	cr_expect(bytes_is(p->expiration, "60000"), "ms from now");
	cr_expect_eq(p->priority, 7, "evpriority before priority");
	cr_expect(!(p->_flags & AMQP_BASIC_HEADERS_FLAG), "no headers in structured mode");
	ev_amqp_msg_free(&m);
}

Test(amqpprops, structured_edges)
{
	static const struct {
		const char *ev;
		amqp_flags_t set, unset;
		const char *expiration;
		int priority;
	} t[] = {
		/* priority alone; clamped; a negative or fractional one is no priority */
		{ "{\"priority\":300}", AMQP_BASIC_PRIORITY_FLAG, 0, NULL, 255 },
		{ "{\"priority\":-1}", 0, AMQP_BASIC_PRIORITY_FLAG, NULL, 0 },
		{ "{\"evpriority\":1.5}", 0, AMQP_BASIC_PRIORITY_FLAG, NULL, 0 },
		/* an expiry past is 0 (expire unless delivered now); beyond 2^32-1 ms, none */
		{ "{\"expirytime\":\"2026-11-23T09:00:00Z\"}", AMQP_BASIC_EXPIRATION_FLAG, 0, "0", 0 },
		{ "{\"expirytime\":\"2099-01-01T00:00:00Z\"}", 0, AMQP_BASIC_EXPIRATION_FLAG, NULL, 0 },
		{ "{\"expirytime\":\"soon\"}", 0, AMQP_BASIC_EXPIRATION_FLAG, NULL, 0 },
		/* not strings, or too long for a short string: left out */
		{ "{\"id\":42,\"type\":null}", 0, AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG, NULL, 0 },
		/* not JSON: the line as it is, with the content type alone */
		{ "{\"id\":\"x\"", 0, AMQP_BASIC_MESSAGE_ID_FLAG, NULL, 0 },
	};
	struct ev_amqp_msg m = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_assert_eq(ev_amqp_msg_make(&m, t[i].ev, strlen(t[i].ev), 0, NOW), 0);
		cr_expect_eq(m.props._flags & t[i].set, t[i].set, "%s", t[i].ev);
		cr_expect_eq(m.props._flags & t[i].unset, 0, "%s", t[i].ev);
		if (t[i].expiration)
			cr_expect(bytes_is(m.props.expiration, t[i].expiration), "%s", t[i].ev);
		if (t[i].priority)
			cr_expect_eq(m.props.priority, t[i].priority, "%s", t[i].ev);
	}
	char longid[400] = "{\"id\":\"";
	memset(longid + 7, 'a', 256);
	strcpy(longid + 7 + 256, "\"}");
	cr_assert_eq(ev_amqp_msg_make(&m, longid, strlen(longid), 0, NOW), 0);
	cr_expect(!(m.props._flags & AMQP_BASIC_MESSAGE_ID_FLAG), "an id over 255 bytes");
	ev_amqp_msg_free(&m);
}

Test(amqpprops, binary_out)
{
	static const char ev[] = "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\","
	    "\"n\":3,\"x\":1.5,\"ok\":true,\"nil\":null,\"datacontenttype\":\"application/json\","
	    "\"data\":{\"a\":[1,2]}}";
	struct ev_amqp_msg m = { 0 };
	const amqp_table_entry_t *h;

	cr_assert_eq(ev_amqp_msg_make(&m, ev, strlen(ev), 1, NOW), 0);
	cr_expect(bytes_is(m.body, "{\"a\":[1,2]}"));
	cr_expect(bytes_is(m.props.content_type, "application/json"));
	cr_expect(bytes_is(m.props.message_id, "e1"), "properties in binary mode too");
	cr_assert((h = header(&m.props, "cloudEvents_id")));
	cr_expect_eq(h->value.kind, AMQP_FIELD_KIND_UTF8);
	cr_expect(bytes_is(h->value.value.bytes, "e1"));
	cr_assert((h = header(&m.props, "cloudEvents_n")));
	cr_expect_eq(h->value.kind, AMQP_FIELD_KIND_I64);
	cr_expect_eq(h->value.value.i64, 3);
	cr_assert((h = header(&m.props, "cloudEvents_x")));
	cr_expect_eq(h->value.kind, AMQP_FIELD_KIND_F64);
	cr_assert((h = header(&m.props, "cloudEvents_ok")));
	cr_expect_eq(h->value.kind, AMQP_FIELD_KIND_BOOLEAN);
	cr_assert((h = header(&m.props, "cloudEvents_nil")));
	cr_expect_eq(h->value.kind, AMQP_FIELD_KIND_VOID);
	cr_expect(!header(&m.props, "cloudEvents_data"));
	cr_expect(!header(&m.props, "cloudEvents_datacontenttype"), "it is the content type");

	static const char text[] = "{\"id\":\"2\",\"datacontenttype\":\"text/plain\",\"data\":\"a\\nb\"}";
	cr_assert_eq(ev_amqp_msg_make(&m, text, strlen(text), 1, NOW), 0);
	cr_expect(bytes_is(m.body, "a\nb"), "a text's string is its bytes");
	static const char nodct[] = "{\"id\":\"3\",\"data\":\"hi\"}";
	cr_assert_eq(ev_amqp_msg_make(&m, nodct, strlen(nodct), 1, NOW), 0);
	cr_expect(bytes_is(m.body, "\"hi\""), "no content type: JSON");
	cr_expect(bytes_is(m.props.content_type, "application/json"));
	static const char b64[] = "{\"id\":\"4\",\"data_base64\":\"AAH/\"}";
	cr_assert_eq(ev_amqp_msg_make(&m, b64, strlen(b64), 1, NOW), 0);
	cr_expect_eq(m.body.len, 3);
	cr_expect(memcmp(m.body.bytes, "\0\1\377", 3) == 0);
	cr_expect(bytes_is(m.props.content_type, "application/octet-stream"));
	static const char nodata[] = "{\"id\":\"5\"}";
	cr_assert_eq(ev_amqp_msg_make(&m, nodata, strlen(nodata), 1, NOW), 0);
	cr_expect_eq(m.body.len, 0);
	cr_expect_eq(ev_amqp_msg_make(&m, "[1]", 3, 1, NOW), -1, "not an object");
	cr_expect_eq(ev_amqp_msg_make(&m, "{", 1, 1, NOW), -1, "not JSON");
	ev_amqp_msg_free(&m);
}

/* ---- consuming ---- */

static amqp_table_entry_t
strhdr(const char *k, const char *v)
{
	amqp_table_entry_t e = { amqp_cstring_bytes(k), { AMQP_FIELD_KIND_UTF8, { .bytes = { 0, NULL } } } };
	e.value.value.bytes = amqp_cstring_bytes(v);
	return e;
}

static char *
event(const amqp_basic_properties_t *p, const char *rk, const char *body, size_t len)
{
	struct ev_amqp_delivery d = { p, amqp_cstring_bytes(rk), "orders" };
	struct ev_amqp_scratch s = { 0 };
	struct ev_buf out = { 0 };

	int r = ev_amqp_event(&d, body, len, NOW, &out, &s);
	ev_amqp_scratch_free(&s);
	if (r == 0) {
		ev_buf_free(&out);
		return NULL;
	}
	return out.p;
}

Test(amqpprops, structured_in)
{
	amqp_basic_properties_t p = { 0 };
	static const char ev[] = "{\"id\":\"1\"}";

	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
	p.content_type = amqp_cstring_bytes("application/cloudevents+json; charset=utf-8");
	p.message_id = amqp_cstring_bytes("other");
	cr_expect_null(event(&p, "k", ev, strlen(ev)), "the body as it stands");
	p.content_type = amqp_cstring_bytes("Application/CloudEvents+avro");
	cr_expect_null(event(&p, "k", ev, strlen(ev)), "any format: passed on");
}

Test(amqpprops, foreign_json)
{
	amqp_table_entry_t h[] = { strhdr("Tenant-Id", "acme"), strhdr("x-death", "no"),
		strhdr("id", "reserved"), strhdr("tenantid", "taken"),
		{ amqp_cstring_bytes("attempt"), { AMQP_FIELD_KIND_I32, { .i32 = 2 } } },
		{ amqp_cstring_bytes("flag"), { AMQP_FIELD_KIND_BOOLEAN, { .boolean = 1 } } },
		{ amqp_cstring_bytes("tbl"), { AMQP_FIELD_KIND_TABLE, { .table = { 0, NULL } } } } };
	amqp_basic_properties_t p = { 0 };
	static const char body[] = "{\"order_id\": 42,\n\"total\": 9.5}";

	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG |
	    AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
	    AMQP_BASIC_PRIORITY_FLAG | AMQP_BASIC_EXPIRATION_FLAG | AMQP_BASIC_APP_ID_FLAG |
	    AMQP_BASIC_HEADERS_FLAG;
	p.content_type = amqp_cstring_bytes("application/json");
	p.message_id = amqp_cstring_bytes("m-1");
	p.type = amqp_cstring_bytes("order.placed");
	p.timestamp = 1795428000;
	p.correlation_id = amqp_cstring_bytes("c9");
	p.reply_to = amqp_cstring_bytes("rq");
	p.priority = 3;
	p.expiration = amqp_cstring_bytes("60000");
	p.app_id = amqp_cstring_bytes("rails-shop");
	p.headers = (amqp_table_t){ sizeof h / sizeof h[0], h };
	char *e = event(&p, "ignored.key", body, strlen(body));
	cr_assert_not_null(e);
	cr_expect_str_eq(e, "{\"specversion\":\"1.0\",\"id\":\"m-1\",\"source\":\"rails-shop\","
	    "\"type\":\"order.placed\",\"time\":\"2026-11-23T10:00:00.000Z\",\"correlationid\":\"c9\","
	    "\"replyto\":\"rq\",\"expirytime\":\"2026-11-23T10:01:00.000Z\",\"evpriority\":3,"
	    "\"tenantid\":\"acme\",\"attempt\":2,\"flag\":true,"
	    "\"datacontenttype\":\"application/json\",\"data\":{\"order_id\": 42, \"total\": 9.5}}");
	free(e);
}

Test(amqpprops, foreign_defaults)
{
	amqp_basic_properties_t p = { 0 };
	char *e;

	/* no properties: the routing key is the type, the queue the source */
	e = event(&p, "order.paid", "hello", 5);
	cr_assert_not_null(e);
	cr_expect(strstr(e, "\"source\":\"/amqp/orders\",\"type\":\"order.paid\""), "%s", e);
	cr_expect(strstr(e, "\"data\":\"hello\"}"), "%s", e);
	cr_expect(strstr(e, "\"id\":\""), "an id is made: %s", e);
	free(e);
	/* no routing key (a fanout): the queue */
	e = event(&p, "", "1", 1);
	cr_expect(strstr(e, "\"type\":\"orders\""), "%s", e);
	cr_expect(strstr(e, "\"data\":1}"), "%s", e);
	free(e);
	e = event(&p, "k", "\0\1\377", 3);
	cr_expect(strstr(e, "\"data_base64\":\"AAH/\"}"), "%s", e);
	free(e);
	/* an empty body: no data */
	e = event(&p, "k", "", 0);
	cr_expect(!strstr(e, "data"), "%s", e);
	free(e);
	/* a content type that says JSON, and a body that is not: as it came (bad input) */
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
	p.content_type = amqp_cstring_bytes("application/json");
	cr_expect_null(event(&p, "k", "{\"bad\":", 7));
	/* a CloudEvent sent without its content type: completed, not wrapped */
	p._flags = AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG;
	p.message_id = amqp_cstring_bytes("other");
	p.reply_to = amqp_cstring_bytes("r");
	static const char ce[] = "{\"specversion\":\"1.0\",\"id\":\"s1\",\"source\":\"/x\",\"type\":\"t\",\"time\":\"2026-01-01T00:00:00Z\"}";
	e = event(&p, "k", ce, strlen(ce));
	cr_expect_str_eq(e, "{\"specversion\":\"1.0\",\"id\":\"s1\",\"source\":\"/x\",\"type\":\"t\","
	    "\"time\":\"2026-01-01T00:00:00Z\",\"replyto\":\"r\"}");
	free(e);
}

Test(amqpprops, binary_in_prefixes)
{
	static const char *const pre[] = { "cloudEvents_", "cloudEvents:", "ce_", "ce-", "CE-" };
	amqp_basic_properties_t p = { 0 };
	char k[5][32];

	for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
		snprintf(k[0], sizeof k[0], "%sspecversion", pre[i]);
		snprintf(k[1], sizeof k[1], "%sid", pre[i]);
		snprintf(k[2], sizeof k[2], "%ssource", pre[i]);
		snprintf(k[3], sizeof k[3], "%stype", pre[i]);
		snprintf(k[4], sizeof k[4], "%sTenant", pre[i]);
		amqp_table_entry_t h[] = { strhdr(k[0], "1.0"), strhdr(k[1], "b1"), strhdr(k[2], "/py"),
			strhdr(k[3], "t.b"), strhdr(k[4], "acme"), strhdr("ce_id", "second"),
			{ amqp_cstring_bytes("ce_time"), { AMQP_FIELD_KIND_TIMESTAMP, { .u64 = 1795428000 } } } };
		p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
		p.content_type = amqp_cstring_bytes("text/plain");
		p.message_id = amqp_cstring_bytes("not-this");
		p.headers = (amqp_table_t){ sizeof h / sizeof h[0], h };
		char *e = event(&p, "k", "{\"x\":1}", 7);
		cr_assert_not_null(e, "%s", pre[i]);
		cr_expect_str_eq(e, "{\"specversion\":\"1.0\",\"id\":\"b1\",\"source\":\"/py\",\"type\":\"t.b\","
		    "\"tenant\":\"acme\",\"time\":\"2026-11-23T10:00:00.000Z\","
		    "\"datacontenttype\":\"text/plain\",\"data\":\"{\\\"x\\\":1}\"}", "%s", pre[i]);
		free(e);
	}
}

Test(amqpprops, binary_roundtrip)
{
	static const char *const evs[] = {
		"{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\","
		"\"time\":\"2026-11-23T10:00:00.123Z\",\"n\":3,\"ok\":false,\"tenant\":\"a\\\"b\","
		"\"datacontenttype\":\"application/json\",\"data\":{\"a\":[1,2]}}",
		"{\"specversion\":\"1.0\",\"id\":\"e2\",\"source\":\"/s\",\"type\":\"t\","
		"\"time\":\"2026-11-23T10:00:00.123Z\",\"datacontenttype\":\"text/plain\",\"data\":\"a b\"}",
		"{\"specversion\":\"1.0\",\"id\":\"e3\",\"source\":\"/s\",\"type\":\"t\","
		"\"time\":\"2026-11-23T10:00:00.123Z\",\"datacontenttype\":\"image/png\",\"data_base64\":\"AAH/\"}",
	};
	struct ev_amqp_msg m = { 0 };

	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		cr_assert_eq(ev_amqp_msg_make(&m, evs[i], strlen(evs[i]), 1, NOW), 0);
		char *e = event(&m.props, "t", m.body.bytes, m.body.len);
		cr_assert_not_null(e);
		cr_expect_str_eq(e, evs[i]);
		free(e);
	}
	ev_amqp_msg_free(&m);
}
