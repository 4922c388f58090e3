/* SPDX-License-Identifier: ISC */
/* obj.c — JSON objects from dotted keys (see obj.h).
 *
 * The object is a tree kept in one array of nodes that point at each other
 * by index, with every key and value in one string arena, so clearing and
 * refilling it (a CSV row after another) allocates nothing new.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "json/jsonscan.h"
#include "json/obj.h"

struct node {
	size_t key, klen;        /* decoded key, in the arena */
	size_t val, vlen;        /* a leaf's JSON text, in the arena */
	int isobj;
	int first, last, next;   /* children and the next sibling; -1: none */
};

struct ev_obj {
	struct node *n;
	size_t nn, cap;
	struct ev_buf str;       /* the arena */
	struct ev_buf seg;       /* one decoded key segment */
};

static int
newnode(struct ev_obj *o, int parent, const char *key, size_t klen, int isobj)
{
	struct node *k;
	int i = (int)o->nn;

	if (o->nn == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->n = ev_reallocarray(o->n, o->cap, sizeof *o->n);
	}
	k = &o->n[o->nn++];
	k->key = o->str.len;
	k->klen = klen;
	ev_buf_add(&o->str, key, klen);
	k->val = k->vlen = 0;
	k->isobj = isobj;
	k->first = k->last = k->next = -1;
	if (parent >= 0) {
		struct node *p = &o->n[parent];
		if (p->last >= 0)
			o->n[p->last].next = i;
		else
			p->first = i;
		p->last = i;
	}
	return i;
}

struct ev_obj *
ev_obj_new(void)
{
	struct ev_obj *o = ev_calloc(1, sizeof *o);

	ev_obj_clear(o);
	return o;
}

void
ev_obj_clear(struct ev_obj *o)
{
	o->nn = 0;
	ev_buf_reset(&o->str);
	newnode(o, -1, "", 0, 1);
}

int ev_obj_empty(const struct ev_obj *o) { return o->n[0].first < 0; }

void
ev_obj_free(struct ev_obj *o)
{
	if (!o)
		return;
	free(o->n);
	ev_buf_free(&o->str);
	ev_buf_free(&o->seg);
	free(o);
}

/* Decode the segment of key that starts at *i into seg; *i moves past it
 * and its dot. -1 for an empty segment. */
static int
segment(const char *key, size_t klen, size_t *i, struct ev_buf *seg)
{
	size_t j = *i;

	ev_buf_reset(seg);
	ev_buf_grow(seg, 1);
	for (; j < klen && key[j] != '.'; j++) {
		if (key[j] == '\\' && j + 1 < klen)
			j++;
		ev_buf_addc(seg, key[j]);
	}
	*i = j + 1; /* past the dot, or past the end */
	return seg->len ? 0 : -1;
}

int
ev_obj_checkkey(const char *key, size_t klen, struct ev_buf *err)
{
	struct ev_buf seg = { 0 };
	size_t i = 0;
	int r = 0;

	ev_buf_reset(err);
	do {
		if (segment(key, klen, &i, &seg) < 0) {
			ev_buf_printf(err, "'%.*s': an empty key", (int)klen, key);
			r = -1;
			break;
		}
	} while (i <= klen);
	ev_buf_free(&seg);
	return r;
}

static int
child(const struct ev_obj *o, int parent, const struct ev_buf *seg)
{
	for (int c = o->n[parent].first; c >= 0; c = o->n[c].next)
		if (o->n[c].klen == seg->len && memcmp(o->str.p + o->n[c].key, seg->p, seg->len) == 0)
			return c;
	return -1;
}

/* Append JSON text without the white space between its tokens (a value
 * given on a command line may span lines; an event may not). */
static void
addcompact(struct ev_buf *out, const char *p, size_t n)
{
	int instr = 0;

	ev_buf_grow(out, n);
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (instr) {
			if (c == '\\' && i + 1 < n)
				ev_buf_addc(out, c), c = p[++i];
			else if (c == '"')
				instr = 0;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue;
		} else if (c == '"') {
			instr = 1;
		}
		ev_buf_addc(out, c);
	}
}

int
ev_obj_set(struct ev_obj *o, const char *key, size_t klen, const char *val, size_t vlen,
    enum ev_objval kind, struct ev_buf *err)
{
	int cur = 0, c;
	size_t i = 0;

	ev_buf_reset(err);
	struct ev_jerr jerr;
	if (kind == EV_OBJ_JSON && ev_json_valid(val, vlen, &jerr) < 0) {
		ev_buf_printf(err, "'%.*s': not a JSON value: column %zu: %s", (int)klen, key,
		    jerr.off + 1, jerr.msg);
		return -1;
	}
	for (;;) {
		if (segment(key, klen, &i, &o->seg) < 0) {
			ev_buf_printf(err, "'%.*s': an empty key", (int)klen, key);
			return -1;
		}
		c = child(o, cur, &o->seg);
		if (i > klen)
			break;
		if (c < 0) {
			c = newnode(o, cur, o->seg.p, o->seg.len, 1);
		} else if (!o->n[c].isobj) {
			ev_buf_printf(err, "'%.*s': '%.*s' is already a value, not an object",
			    (int)klen, key, (int)(i - 1), key);
			return -1;
		}
		cur = c;
	}
	if (c >= 0) {
		ev_buf_printf(err, o->n[c].isobj ? "'%.*s': already an object, not a value" :
		    "'%.*s': given twice", (int)klen, key);
		return -1;
	}
	c = newnode(o, cur, o->seg.p, o->seg.len, 0);
	o->n[c].val = o->str.len;
	if (kind == EV_OBJ_JSON)
		addcompact(&o->str, val, vlen);
	else if (kind == EV_OBJ_RAW)
		ev_buf_add(&o->str, val, vlen);
	else
		ev_buf_addjstr(&o->str, val, vlen);
	o->n[c].vlen = o->str.len - o->n[c].val;
	return 0;
}

int
ev_obj_field(struct ev_obj *o, const char *field, struct ev_buf *err)
{
	size_t i, n = strlen(field);
	int json = 0;

	for (i = 0; i < n && field[i] != '='; i++) {
		json = field[i] == ':';
		if (field[i] == '\\' && i + 1 < n)
			i++;
	}
	if (i == n) {
		ev_buf_reset(err);
		ev_buf_printf(err, "'%s': not key=value or key:=json", field);
		return -1;
	}
	return ev_obj_set(o, field, json ? i - 1 : i, field + i + 1, n - i - 1,
	    json ? EV_OBJ_JSON : EV_OBJ_STRING, err);
}

static void
dumpnode(const struct ev_obj *o, int i, struct ev_buf *out)
{
	const struct node *k = &o->n[i];

	if (!k->isobj) {
		ev_buf_add(out, o->str.p + k->val, k->vlen);
		return;
	}
	ev_buf_addc(out, '{');
	for (int c = k->first; c >= 0; c = o->n[c].next) {
		if (c != k->first)
			ev_buf_addc(out, ',');
		ev_buf_addjstr(out, o->str.p + o->n[c].key, o->n[c].klen);
		ev_buf_addc(out, ':');
		dumpnode(o, c, out);
	}
	ev_buf_addc(out, '}');
}

void
ev_obj_dump(const struct ev_obj *o, struct ev_buf *out)
{
	dumpnode(o, 0, out);
}
