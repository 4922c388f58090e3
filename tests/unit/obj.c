/* SPDX-License-Identifier: ISC */
/* lib/json/obj.c: JSON objects from dotted keys, and CSV rows (lib/event/csvin.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "base/buf.h"
#include "event/csvin.h"
#include "json/obj.h"

Test(obj, fields)
{
	static const struct { const char *fields[4], *json; } t[] = {
		{ { "name=ada" }, "{\"name\":\"ada\"}" },
		{ { "n:=42", "ok:=true", "nil:=null" }, "{\"n\":42,\"ok\":true,\"nil\":null}" },
		{ { "customer.name=ada", "customer.id:=7", "x=1" },
		  "{\"customer\":{\"name\":\"ada\",\"id\":7},\"x\":\"1\"}" },
		{ { "a.b.c=deep" }, "{\"a\":{\"b\":{\"c\":\"deep\"}}}" },
		{ { "a\\.b=1", "c\\=d=2", "e\\:=3" }, "{\"a.b\":\"1\",\"c=d\":\"2\",\"e:\":\"3\"}" },
		{ { "eq=a=b", "empty=" }, "{\"eq\":\"a=b\",\"empty\":\"\"}" },
		{ { "q=say \"hi\"\n" }, "{\"q\":\"say \\\"hi\\\"\\n\"}" },
		{ { "j:= { \"k\" : [ 1, \"a b\" ] }\n" }, "{\"j\":{\"k\":[1,\"a b\"]}}" },
		{ { "big:=12345678901234567890" }, "{\"big\":12345678901234567890}" },
		{ { "bad=\xff" }, "{\"bad\":\"\xef\xbf\xbd\"}" },
		{ { NULL }, "{}" },
	};
	struct ev_buf err = { 0 }, out = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_obj *o = ev_obj_new();
		for (size_t j = 0; j < 4 && t[i].fields[j]; j++)
			cr_expect_eq(ev_obj_field(o, t[i].fields[j], &err), 0, "%s: %s",
			    t[i].fields[j], err.p);
		ev_buf_reset(&out);
		ev_obj_dump(o, &out);
		cr_expect_str_eq(out.p, t[i].json);
		cr_expect_eq(ev_obj_empty(o), t[i].fields[0] == NULL);
		ev_obj_free(o);
	}
	ev_buf_free(&err);
	ev_buf_free(&out);
}

Test(obj, field_errors)
{
	static const struct { const char *first, *field, *msg; } t[] = {
		{ NULL, "noequals", "'noequals': not key=value or key:=json" },
		{ NULL, "=x", "'': an empty key" },
		{ NULL, ":=1", "'': an empty key" },
		{ NULL, "a..b=1", "'a..b': an empty key" },
		{ NULL, "a.=1", "'a.': an empty key" },
		{ NULL, "n:=[1,", NULL },
		{ NULL, "n:=nope", NULL },
		{ "a=1", "a=2", "'a': given twice" },
		{ "a=1", "a.b=2", "'a.b': 'a' is already a value, not an object" },
		{ "a.b=1", "a=2", "'a': already an object, not a value" },
	};
	struct ev_buf err = { 0 };

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ev_obj *o = ev_obj_new();
		if (t[i].first)
			cr_assert_eq(ev_obj_field(o, t[i].first, &err), 0);
		cr_expect_eq(ev_obj_field(o, t[i].field, &err), -1, "%s accepted", t[i].field);
		if (t[i].msg)
			cr_expect_str_eq(err.p, t[i].msg);
		else
			cr_expect(strstr(err.p, "not a JSON value"), "%s: %s", t[i].field, err.p);
		ev_obj_free(o);
	}
	ev_buf_free(&err);
}

Test(obj, clear_and_refill)
{
	struct ev_obj *o = ev_obj_new();
	struct ev_buf err = { 0 }, out = { 0 };

	for (int i = 0; i < 1000; i++) {
		ev_obj_clear(o);
		cr_assert_eq(ev_obj_set(o, "r.i", 3, "7", 1, EV_OBJ_RAW, &err), 0);
		cr_assert_eq(ev_obj_set(o, "r.s", 3, "x", 1, EV_OBJ_STRING, &err), 0);
	}
	ev_obj_dump(o, &out);
	cr_expect_str_eq(out.p, "{\"r\":{\"i\":7,\"s\":\"x\"}}");
	ev_obj_free(o);
	ev_buf_free(&err);
	ev_buf_free(&out);
}

#ifdef HAVE_LIBCSV
static struct ev_csvin *
csvof(const char *const *lines, struct ev_buf *err, int *nbad)
{
	struct ev_csvin *c = ev_csvin_new();
	const char *raw;
	size_t rawlen;

	*nbad = 0;
	for (size_t i = 0; lines[i]; i++) {
		int r = ev_csvin_line(c, lines[i], strlen(lines[i]), err, &raw, &rawlen);
		cr_assert_geq(r, 0, "%s: %s", lines[i], err->p);
		*nbad += r;
	}
	*nbad += ev_csvin_end(c, err, &raw, &rawlen);
	return c;
}

Test(csvin, rows_with_numeric_columns)
{
	static const char *const lines[] = {
		"name,qty,price,zip,c.x", "ada,1,2.5,02134,\"a,b\"", "bob,,-3e2,10001,\"two",
		"lines\"", "", "carl, 7 ,0.5,99999,\"\"", NULL,
	};
	static const char *const want[] = {
		"{\"name\":\"ada\",\"qty\":1,\"price\":2.5,\"zip\":\"02134\",\"c\":{\"x\":\"a,b\"}}",
		"{\"name\":\"bob\",\"qty\":null,\"price\":-3e2,\"zip\":\"10001\",\"c\":{\"x\":\"two\\nlines\"}}",
		"{\"name\":\"carl\",\"qty\":7,\"price\":0.5,\"zip\":\"99999\",\"c\":{\"x\":\"\"}}",
	};
	struct ev_buf err = { 0 }, out = { 0 };
	int nbad;
	struct ev_csvin *c = csvof(lines, &err, &nbad);

	cr_expect_eq(nbad, 0, "%s", err.p);
	cr_assert_eq(ev_csvin_rows(c), 3);
	for (size_t i = 0; i < 3; i++) {
		ev_buf_reset(&out);
		ev_csvin_row(c, i, &out);
		cr_expect_str_eq(out.p, want[i]);
	}
	ev_csvin_free(c);
	ev_buf_free(&err);
	ev_buf_free(&out);
}

Test(csvin, bad_records_are_reported_and_skipped)
{
	static const char *const lines[] = { "a,b", "1,2", "3", "4,5\"x", "6,7", "8,\"open", NULL };
	struct ev_buf err = { 0 }, out = { 0 };
	int nbad;
	struct ev_csvin *c = csvof(lines, &err, &nbad);

	cr_expect_eq(nbad, 3);
	cr_expect_str_eq(err.p, "a quoted cell is not closed");
	cr_assert_eq(ev_csvin_rows(c), 2);
	ev_csvin_row(c, 1, &out);
	cr_expect_str_eq(out.p, "{\"a\":6,\"b\":7}");
	ev_csvin_free(c);
	ev_buf_free(&err);
	ev_buf_free(&out);
}

Test(csvin, unusable_headers)
{
	static const char *const hdr[] = { "a,a", "a,a.b", "a,,b", "x\"y,z" };
	struct ev_buf err = { 0 };
	const char *raw;
	size_t rawlen;

	for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
		struct ev_csvin *c = ev_csvin_new();
		cr_expect_eq(ev_csvin_line(c, hdr[i], strlen(hdr[i]), &err, &raw, &rawlen), -1,
		    "%s", hdr[i]);
		ev_csvin_free(c);
	}
	ev_buf_free(&err);
}
#endif
