/* SPDX-License-Identifier: ISC */
/* router.c — evroute's rules (see router.h for the syntax). Over a
 * thousand lines on purpose: reading a rule, the shared scan and the order
 * of matches all work on one rule table (route/topicset.c holds the trie).
 *
 * How a rule is read. Its first word (up to a blank or '>') is a pattern
 * when it is NAME:GLOB (NAME an attribute name: 1-20 lowercase letters or
 * digits) or made only of type-pattern characters (letters, digits, bytes
 * above ASCII and _ . * # / + @ ~ % -) without a leading '.', and it is
 * followed by the end of the rule or by '>': the destination is then
 * everything after that first '>'. Anything else is a jq expression, and
 * its destination follows the LAST '>' that stands outside brackets and
 * quotes and is not part of '>=', so "select(.a > 1) > big.ndjson" and
 * ".a > 1 > big.ndjson" both mean what they say. A jq rule that is itself
 * one valid jq expression (".a > 1") could be read either way: it is
 * refused, with the advice to use parentheses. Telling that costs no
 * libjq when the destination cannot follow '>' in jq (json/jqname.h),
 * which is the common case; nor does a match the fast path (json/pred.h)
 * takes: libjq compiles it only when an event needs jq.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "amqp/url.h"
#include "base/err.h"
#include "base/prom.h"
#include "json/jq.h"
#include "json/pred.h"
#include "json/jsonscan.h"
#include "json/jqname.h"
#include "io/loc.h"
#include "route/router.h"
#include "route/topic.h"
#include "route/topicset.h"

enum kind { K_TYPE, K_GLOB, K_JQ };

#define MAXATTRS 32 /* attributes globs may read */

/* A jq match, compiled once and shared by the routers a reload makes
 * (their rules of the same text). libjq is started for it at load only
 * when the fast path does not take it (to know it is jq at all), else the
 * first time the fast path defers an event to jq. */
struct jqc {
	size_t refs;
	char *expr;
	struct ev_pred *pred;   /* the fast path, or NULL */
	struct ev_jq *jq;       /* libjq, or NULL until needed */
};

struct rule {
	char *text, *where;
	char *shown;            /* text as messages and counts show it */
	enum kind kind;
	struct ev_topic *topic; /* K_TYPE */
	char *glob;             /* K_GLOB, on vals[path] */
	size_t path;
	struct jqc *jq;         /* K_JQ */
	size_t *slots;          /* K_JQ with the fast path: its paths in vals */
	int reused;             /* K_JQ taken from the router before a reload */
	size_t dest;
	uintmax_t n, jqerr;
};

struct dest {
	char *loc, *norm;
	char *shown;            /* loc as messages and counts show it */
	struct ev_sink *sink;
	uintmax_t n;
	uintmax_t stamp; /* the last event written here: one copy per event */
};

/* Per event, all the paths any rule reads are found in one scan (more
 * than EV_JPATH_MAX: one scan per EV_JPATH_MAX); type patterns are matched
 * together through a trie (topicset.h), and only the other rules are
 * tried one by one, merged with the type matches in rule order. */
struct ev_router {
	struct ev_router_conf conf;
	struct rule *rules;
	size_t nrules, caprules;
	struct dest *dests;
	size_t ndests;
	ssize_t otherwise;      /* index into dests, or -1 */
	struct ev_topicset *types;
	size_t *tmatch;         /* the type rules an event matched */
	size_t *others, nothers; /* the rules that are not type patterns */
	char **attrs;           /* attribute names read by globs */
	size_t *attrpath, nattrs;
	char **pathtext;        /* paths read, jsonscan syntax; [0] is .type */
	struct ev_jpath **paths;
	struct ev_jval *vals;
	size_t npaths;
	struct ev_router *donor; /* the router before a reload */
	struct textidx { const char *text; size_t i; } *bytext; /* rules by text, then index */
	struct ev_buf tbuf, abuf, err;
	uintmax_t seq, matched, unmatched, jqerr;
};

/* The slot of a path (by its text) in the one scan of each event. */
static size_t
pathslot(struct ev_router *rt, const char *text)
{
	struct ev_buf err = { 0 };

	for (size_t i = 0; i < rt->npaths; i++)
		if (strcmp(rt->pathtext[i], text) == 0)
			return i;
	rt->pathtext = ev_reallocarray(rt->pathtext, rt->npaths + 1, sizeof *rt->pathtext);
	rt->paths = ev_reallocarray(rt->paths, rt->npaths + 1, sizeof *rt->paths);
	rt->vals = ev_reallocarray(rt->vals, rt->npaths + 1, sizeof *rt->vals);
	rt->pathtext[rt->npaths] = ev_strdup(text);
	rt->paths[rt->npaths] = ev_jpath_compile(text, &err);
	ev_buf_free(&err);
	return rt->npaths++;
}

struct ev_router *
ev_router_new(const struct ev_router_conf *c)
{
	struct ev_router *rt = ev_calloc(1, sizeof *rt);

	rt->conf = *c;
	rt->otherwise = -1;
	rt->types = ev_topicset_new();
	pathslot(rt, ".type");
	return rt;
}

int
ev_router_nrules(const struct ev_router *rt)
{
	return (int)rt->nrules;
}

static int
bytextcmp(const void *a, const void *b)
{
	const struct textidx *x = a, *y = b;
	int c = strcmp(x->text, y->text);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The last rule of rt whose text is text, or -1: rules looked up by text
 * (a reload's) cost a binary search, not a pass over every rule. */
static ssize_t
findtext(struct ev_router *rt, const char *text)
{
	size_t lo = 0, hi = rt->nrules;

	if (!rt->bytext) {
		rt->bytext = ev_calloc(rt->nrules + 1, sizeof *rt->bytext);
		for (size_t i = 0; i < rt->nrules; i++)
			rt->bytext[i] = (struct textidx){ rt->rules[i].text, i };
		qsort(rt->bytext, rt->nrules, sizeof *rt->bytext, bytextcmp);
	}
	while (lo < hi) { /* the first text after this one */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(rt->bytext[mid].text, text) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || strcmp(rt->bytext[lo - 1].text, text) != 0)
		return -1;
	return (ssize_t)rt->bytext[lo - 1].i;
}

void
ev_router_reuse(struct ev_router *rt, struct ev_router *old)
{
	rt->donor = old;
}

/* ---- locations ---- */

/* A rule or a location as it may be shown: a broker's password (allowed in
 * a location with EVKIT_AMQP_ALLOW_URL_PASSWORD) becomes ****, as in the
 * broker's own messages: counts end up in world-readable files. */
static char *
shown(const char *text)
{
	const char *u = text;
	struct ev_buf b = { 0 };
	char *r;

	while ((u = strstr(u, "amqp")) && strncmp(u + 4, "://", 3) != 0 &&
	    strncmp(u + 4, "s://", 4) != 0)
		u++;
	if (!u)
		return ev_strdup(text);
	r = ev_amqp_redact(u);
	ev_buf_add(&b, text, (size_t)(u - text));
	ev_buf_adds(&b, r);
	free(r);
	return b.p;
}

/* The same place written two ways ("spool/", "./spool", "-" and
 * "/dev/stdout" aside) gets the same name here. */
static char *
normloc(const char *loc)
{
	char buf[PATH_MAX], *path, *slash, *r;
	size_t n;

	if (strcmp(loc, "-") == 0 || strstr(loc, "://"))
		return ev_strdup(loc);
	if (loc[0] == '|') {
		const char *s = loc + 1, *e = loc + strlen(loc);
		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		struct ev_buf b = { 0 };
		ev_buf_addc(&b, '|');
		ev_buf_add(&b, s, (size_t)(e - s));
		return b.p;
	}
	path = ev_strdup(loc);
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	if (realpath(path, buf)) {
		free(path);
		return ev_strdup(buf);
	}
	slash = strrchr(path, '/');
	if (slash == path)
		return path;
	if (slash)
		*slash = '\0';
	if (!realpath(slash ? path : ".", buf)) {
		if (slash)
			*slash = '/';
		return path;
	}
	struct ev_buf b = { 0 };
	ev_buf_adds(&b, buf);
	ev_buf_addc(&b, '/');
	ev_buf_adds(&b, slash ? slash + 1 : path);
	free(path);
	r = b.p;
	return r;
}

static size_t
adddest(struct ev_router *rt, const char *loc)
{
	char *norm = normloc(loc);

	for (size_t i = 0; i < rt->ndests; i++)
		if (strcmp(rt->dests[i].norm, norm) == 0) {
			free(norm);
			return i;
		}
	rt->dests = ev_reallocarray(rt->dests, rt->ndests + 1, sizeof *rt->dests);
	rt->dests[rt->ndests] = (struct dest){ .loc = ev_strdup(loc), .norm = norm,
	    .shown = strcmp(loc, "-") == 0 ? ev_strdup("<stdout>") : shown(loc) };
	return rt->ndests++;
}

/* ---- parsing ---- */

static int
isblank_(int c)
{
	return c == ' ' || c == '\t';
}

static int
ispatchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c >= 0x80 || (c && strchr("_.*#/+@~%-", c));
}

/* The length of an attribute name followed by ':' at s, or 0. */
static size_t
attrprefix(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && i < 21 && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
		i++;
	return i >= 1 && i <= 20 && i < n && s[i] == ':' ? i : 0;
}

/* Offsets of the last '>' separator that stands outside brackets, jq
 * strings (interpolation included) and single quotes; -1 if none. */
static ssize_t
lastsep(const char *s, size_t n)
{
	size_t depth = 0, stack[32], sp = 0;
	ssize_t last = -1;
	int instr = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (instr) {
			if (c == '\\' && i + 1 < n) {
				if (s[i + 1] == '(' && sp < sizeof stack / sizeof stack[0]) {
					stack[sp++] = depth++;
					instr = 0;
				}
				i++;
			} else if (c == '"') {
				instr = 0;
			}
			continue;
		}
		switch (c) {
		case '"':
			instr = 1;
			break;
		case '\'': {
			const char *q = memchr(s + i + 1, '\'', n - i - 1);
			i = q ? (size_t)(q - s) : n;
			break;
		}
		case '(': case '[': case '{':
			depth++;
			break;
		case ')': case ']': case '}':
			if (depth > 0)
				depth--;
			if (c == ')' && sp > 0 && depth == stack[sp - 1]) {
				sp--;
				instr = 1;
			}
			break;
		case '>':
			if (depth == 0 && (i + 1 >= n || s[i + 1] != '='))
				last = (ssize_t)i;
			break;
		}
	}
	return last;
}

static void
trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && isblank_((unsigned char)s[*b]))
		(*b)++;
	while (*e > *b && isblank_((unsigned char)s[*e - 1]))
		(*e)--;
}

static size_t
addattr(struct ev_router *rt, const char *name, size_t n)
{
	struct ev_buf p = { 0 };

	for (size_t i = 0; i < rt->nattrs; i++)
		if (strlen(rt->attrs[i]) == n && memcmp(rt->attrs[i], name, n) == 0)
			return rt->attrpath[i];
	ev_buf_addc(&p, '.');
	ev_buf_add(&p, name, n);
	rt->attrs = ev_reallocarray(rt->attrs, rt->nattrs + 1, sizeof *rt->attrs);
	rt->attrpath = ev_reallocarray(rt->attrpath, rt->nattrs + 1, sizeof *rt->attrpath);
	rt->attrs[rt->nattrs] = ev_strndup(name, n);
	rt->attrpath[rt->nattrs++] = pathslot(rt, p.p);
	ev_buf_free(&p);
	return rt->attrpath[rt->nattrs - 1];
}

static int
parseerr(struct ev_buf *err, const char *where, const char *text, size_t off, const char *msg)
{
	char *t = shown(text);

	ev_buf_reset(err);
	ev_buf_printf(err, "%s: '%s': column %zu: ", where, t, off + 1);
	free(t);
	for (; *msg; msg++) /* jq's messages span lines; ours take one */
		ev_buf_addc(err, *msg == '\n' || *msg == '\t' ? ' ' : *msg);
	return -1;
}

/* Where the parts of a rule are: the rule trimmed to [b, e), its first
 * word [b, w) (ap: the length of its "name:" prefix, or 0), the first
 * non-blank after it at after. */
struct lex {
	const char *s;
	size_t b, e, w, after, ap;
	int patchars; /* the first word is made of type-pattern characters */
	int sepnext;  /* and the end or a '>' that is not '>=' follows it */
};

static int
lexrule(const struct rule *r, struct lex *x, struct ev_buf *err)
{
	const char *s = r->text;

	*x = (struct lex){ .s = s, .e = strlen(s) };
	trim(s, &x->b, &x->e);
	if (x->b == x->e)
		return parseerr(err, r->where, s, 0, "an empty rule");
	if (s[x->b] == '>')
		return parseerr(err, r->where, s, x->b, "a match must come before '>'");
	for (x->w = x->b; x->w < x->e && !isblank_((unsigned char)s[x->w]) && s[x->w] != '>';
	    x->w++)
		;
	for (x->after = x->w; x->after < x->e && isblank_((unsigned char)s[x->after]); x->after++)
		;
	x->ap = attrprefix(s + x->b, x->w - x->b);
	x->patchars = s[x->b] != '.';
	for (size_t i = x->b; i < x->w && x->patchars; i++)
		x->patchars = ispatchar((unsigned char)s[i]);
	x->sepnext = x->after == x->e ||
	    (s[x->after] == '>' && (x->after + 1 >= x->e || s[x->after + 1] != '='));
	return 0;
}

/* A pattern's destination: all after the first '>'; NULL for none. */
static int
patterndest(const struct rule *r, const struct lex *x, char **dest, struct ev_buf *err)
{
	const char *s = x->s, *gt;
	size_t db = x->after + 1, de = x->e;

	if (x->after == x->e)
		return 0;
	trim(s, &db, &de);
	if (db == de)
		return parseerr(err, r->where, s, x->after, "a destination must follow '>'");
	gt = memchr(s + db, '>', de - db);
	if (gt && s[db] != '|')
		return parseerr(err, r->where, s, (size_t)(gt - s),
		    "a second '>': for a jq comparison write (EXPR) > DEST");
	*dest = ev_strndup(s + db, de - db);
	return 0;
}

/* A type pattern or an attribute glob. */
static int
parsepattern(struct ev_router *rt, struct rule *r, const struct lex *x, char **dest,
    struct ev_buf *err)
{
	const char *s = x->s;
	struct ev_buf msg = { 0 };
	size_t pb = x->b, col;
	int ret = 0;

	if (patterndest(r, x, dest, err) < 0)
		return -1;
	if (x->ap && !(x->ap == 4 && memcmp(s + x->b, "type", 4) == 0)) {
		r->kind = K_GLOB;
		r->glob = ev_strndup(s + x->b + x->ap + 1, x->w - x->b - x->ap - 1);
		if (1 + rt->nattrs > MAXATTRS)
			return parseerr(err, r->where, s, x->b, "too many different attributes");
		r->path = addattr(rt, s + x->b, x->ap);
		return 0;
	}
	if (x->ap)
		pb = x->b + x->ap + 1;
	r->kind = K_TYPE;
	if (!(r->topic = ev_topic_compile(s + pb, x->w - pb, &msg, &col)))
		ret = parseerr(err, r->where, s, pb + col, msg.p);
	ev_buf_free(&msg);
	return ret;
}

/* jq's parser is only sure to see the destination as an operand of '>'
 * (and so the whole rule as one expression) when the match defines
 * nothing and holds no comment; else, ask libjq. */
static int
plainjq(const struct jqc *c)
{
	return c->pred || (!strstr(c->expr, "def") && !strstr(c->expr, "import") &&
	    !strstr(c->expr, "include") && !strchr(c->expr, '#'));
}

/* Is the whole rule s[b, e), destination d (dn bytes) included, also one
 * jq expression? Known without libjq when the destination cannot follow
 * '>' in jq (jqname.h) or the whole has the fast path's shape. */
static int
wholeisjq(const struct jqc *c, const char *s, size_t b, size_t e, const char *d, size_t dn)
{
	char *whole;
	struct ev_buf msg = { 0 };
	struct ev_pred *p;
	struct ev_jq *q = NULL;
	int is;

	if (plainjq(c) && !ev_jqname_maybe_operand(d, dn))
		return 0;
	whole = ev_strndup(s + b, e - b);
	if (!(p = ev_pred_compile(whole, NULL, 0, &msg)))
		q = ev_jq_compile(whole, NULL, &msg);
	is = p || q;
	free(whole);
	ev_buf_free(&msg);
	ev_pred_free(p);
	ev_jq_free(q);
	return is;
}

/* The message for a match that is neither a pattern nor jq. */
static int
notjq(const struct rule *r, const struct lex *x, size_t mb, const char *jqmsg,
    struct ev_buf *err)
{
	struct ev_buf m = { 0 };
	int asif = x->patchars && !x->sepnext; /* a pattern without its '>' */

	if (asif)
		ev_buf_printf(&m, "expected '>' after the pattern '%.*s'", (int)(x->w - x->b),
		    x->s + x->b);
	else
		ev_buf_printf(&m, "not a pattern, and not a jq expression: %s", jqmsg);
	parseerr(err, r->where, x->s, asif ? x->after : mb, m.p);
	ev_buf_free(&m);
	return -1;
}

/* Compile the jq match s[mb, me), or take it from the router before a
 * reload when the rule is the same. */
static int
jqmatch(struct ev_router *rt, struct rule *r, const struct lex *x, size_t mb, size_t me,
    struct ev_buf *err)
{
	ssize_t d = rt->donor ? findtext(rt->donor, r->text) : -1;
	struct ev_buf why = { 0 }, msg = { 0 };
	struct jqc *c;
	int ret = 0;

	r->kind = K_JQ;
	if (d >= 0 && rt->donor->rules[d].kind == K_JQ) {
		r->jq = rt->donor->rules[d].jq;
		r->jq->refs++;
		r->reused = 1;
	} else {
		r->jq = c = ev_calloc(1, sizeof *c);
		c->refs = 1;
		c->expr = ev_strndup(x->s + mb, me - mb);
		if (!(c->pred = ev_pred_compile(c->expr, NULL, 0, &why)) &&
		    !(c->jq = ev_jq_compile(c->expr, NULL, &msg)))
			ret = notjq(r, x, mb, msg.p, err);
	}
	if (ret == 0 && r->jq->pred) {
		size_t n = ev_pred_npaths(r->jq->pred);
		r->slots = ev_calloc(n + 1, sizeof *r->slots);
		for (size_t i = 0; i < n; i++)
			r->slots[i] = pathslot(rt, ev_pred_path(r->jq->pred, i));
	}
	ev_buf_free(&why);
	ev_buf_free(&msg);
	return ret;
}

/* A jq expression: the destination follows the last free '>'. */
static int
parsejq(struct ev_router *rt, struct rule *r, const struct lex *x, char **dest,
    struct ev_buf *err)
{
	const char *s = x->s, *colon = memchr(s + x->b, ':', x->w - x->b);
	size_t b = x->b, e = x->e, pre = colon ? (size_t)(colon - s) - b : 0;

	if (!x->ap && pre > 0 && strspn(s + b,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == pre)
		return parseerr(err, r->where, s, b,
		    "an attribute name is 1 to 20 lowercase letters or digits before ':'");
	ssize_t sep = lastsep(s + b, e - b);
	size_t me = sep >= 0 ? b + (size_t)sep : e, mb = b, db, de = e;
	trim(s, &mb, &me);
	if (mb == me)
		return parseerr(err, r->where, s, b, "a match must come before '>'");
	if (jqmatch(rt, r, x, mb, me, err) < 0)
		return -1;
	if (sep < 0)
		return 0;
	db = b + (size_t)sep + 1;
	trim(s, &db, &de);
	if (db == de)
		return parseerr(err, r->where, s, b + (size_t)sep, "a destination must follow '>'");
	if (!r->reused && wholeisjq(r->jq, s, b, e, s + db, de - db))
		return parseerr(err, r->where, s, b + (size_t)sep,
		    "'>' is ambiguous: the whole rule is also a jq expression; write "
		    "(EXPR) > DEST, or (EXPR) alone for the default output");
	*dest = ev_strndup(s + db, de - db);
	return 0;
}

/* Parse one rule into r (text and where already set). */
static int
parse(struct ev_router *rt, struct rule *r, struct ev_buf *err)
{
	struct lex x;
	char *dest = NULL;
	int ret;

	if (lexrule(r, &x, err) < 0)
		return -1;
	if ((x.ap || x.patchars) && x.sepnext)
		ret = parsepattern(rt, r, &x, &dest, err);
	else
		ret = parsejq(rt, r, &x, &dest, err);
	if (ret == 0)
		r->dest = adddest(rt, dest ? dest : rt->conf.output ? rt->conf.output : "-");
	free(dest);
	return ret;
}

static void
jqrelease(struct jqc *c)
{
	if (!c || --c->refs > 0)
		return;
	free(c->expr);
	ev_pred_free(c->pred);
	ev_jq_free(c->jq);
	free(c);
}

static void
freerule(struct rule *r)
{
	free(r->text);
	free(r->where);
	free(r->shown);
	ev_topic_free(r->topic);
	free(r->glob);
	jqrelease(r->jq);
	free(r->slots);
}

int
ev_router_add(struct ev_router *rt, const char *text, const char *where, struct ev_buf *err)
{
	struct rule r = { .text = ev_strdup(text), .where = ev_strdup(where) };
	size_t i = rt->nrules;

	if (parse(rt, &r, err) < 0) {
		freerule(&r);
		return -1;
	}
	r.shown = shown(text);
	if (rt->nrules == rt->caprules) {
		rt->caprules = rt->caprules ? 2 * rt->caprules : 16;
		rt->rules = ev_reallocarray(rt->rules, rt->caprules, sizeof *rt->rules);
	}
	rt->rules[rt->nrules++] = r;
	free(rt->bytext);
	rt->bytext = NULL;
	if (r.kind == K_TYPE) {
		ev_topicset_add(rt->types, r.topic, i);
		rt->tmatch = ev_reallocarray(rt->tmatch, ev_topicset_count(rt->types),
		    sizeof *rt->tmatch);
	} else {
		rt->others = ev_reallocarray(rt->others, rt->nothers + 1, sizeof *rt->others);
		rt->others[rt->nothers++] = i;
	}
	return 0;
}
static int
iscomment(const char *s)
{
	while (isblank_((unsigned char)*s))
		s++;
	if (*s != '#')
		return 0;
	if (s[1] == '\0')
		return 1;
	if (!isblank_((unsigned char)s[1]))
		return 0;
	for (s++; isblank_((unsigned char)*s); s++)
		;
	return *s != '>';
}

int
ev_router_load(struct ev_router *rt, const char *path, struct ev_buf *err)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, where[PATH_MAX + 32];
	size_t cap = 0;
	ssize_t len;
	uintmax_t no = 0;
	int ret = 0;

	if (!f) {
		ev_buf_reset(err);
		ev_buf_printf(err, "%s: cannot open the rules file: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		no++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (iscomment(line) || line[strspn(line, " \t")] == '\0')
			continue;
		if (memchr(line, '\0', (size_t)len)) {
			ev_buf_reset(err);
			ev_buf_printf(err, "%s:%ju: a NUL byte in a rule", path, no);
			ret = -1;
			break;
		}
		snprintf(where, sizeof where, "%s:%ju", path, no);
		if (ev_router_add(rt, line, where, err) < 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && ferror(f)) {
		ev_buf_reset(err);
		ev_buf_printf(err, "%s: read: %s", path, strerror(errno));
		ret = -1;
	}
	free(line);
	fclose(f);
	return ret;
}

/* ---- destinations ---- */

/* Open the destinations old does not have open; from[i]: old's index. */
static int
opennew(struct ev_router *rt, struct ev_router *old, ssize_t *from)
{
	for (size_t i = 0; i < rt->ndests; i++) {
		from[i] = -1;
		for (size_t j = 0; old && j < old->ndests; j++)
			if (old->dests[j].sink && strcmp(old->dests[j].norm, rt->dests[i].norm) == 0)
				from[i] = (ssize_t)j;
		if (from[i] >= 0)
			continue;
		if (!(rt->dests[i].sink = ev_sink_open(rt->dests[i].loc, rt->conf.sync))) {
			int e = errno;
			for (size_t k = 0; k < i; k++)
				if (from[k] < 0) {
					ev_sink_close(rt->dests[k].sink);
					rt->dests[k].sink = NULL;
				}
			errno = e;
			return -1;
		}
	}
	return 0;
}

/* The counts go on: per rule of the same text (the last such rule of old),
 * and in all. */
static void
takecounts(struct ev_router *rt, struct ev_router *old)
{
	for (size_t i = 0; i < rt->nrules; i++) {
		ssize_t j = findtext(old, rt->rules[i].text);
		if (j >= 0) {
			rt->rules[i].n = old->rules[j].n;
			rt->rules[i].jqerr = old->rules[j].jqerr;
		}
	}
	rt->matched = old->matched;
	rt->unmatched = old->unmatched;
	rt->jqerr = old->jqerr;
}

int
ev_router_open(struct ev_router *rt, struct ev_router *old)
{
	ssize_t *from;

	if (rt->conf.otherwise)
		rt->otherwise = (ssize_t)adddest(rt, rt->conf.otherwise);
	from = ev_calloc(rt->ndests + 1, sizeof *from);
	if (opennew(rt, old, from) < 0) {
		int e = errno;
		free(from);
		errno = e;
		return -1;
	}
	for (size_t i = 0; i < rt->ndests; i++)
		if (from[i] >= 0) {
			struct dest *o = &old->dests[from[i]];
			rt->dests[i].sink = o->sink;
			rt->dests[i].n = o->n;
			o->sink = NULL;
		}
	free(from);
	if (old)
		takecounts(rt, old);
	return 0;
}
void
ev_router_register(struct ev_router *rt, struct ev_input *in)
{
	in->nsinks = 0;
	for (size_t i = 0; i < rt->ndests; i++)
		ev_input_add_sink(in, rt->dests[i].sink);
}

static int
deliver(struct ev_router *rt, size_t d, const struct ev_line *l)
{
	struct dest *x = &rt->dests[d];

	if (x->stamp == rt->seq)
		return 0;
	x->stamp = rt->seq;
	x->n++;
	return ev_sink_write(x->sink, l->p, l->len);
}

/* The text a glob sees: a string decoded, a number or boolean as written. */
static const char *
globtext(struct ev_router *rt, const struct ev_jval *v)
{
	ev_buf_reset(&rt->abuf);
	switch (v->type) {
	case EV_J_STRING:
		if (v->escaped)
			ev_jval_str(v, &rt->abuf);
		else
			ev_buf_add(&rt->abuf, v->p + 1, v->len - 2);
		break;
	case EV_J_NUMBER: case EV_J_TRUE: case EV_J_FALSE:
		ev_buf_add(&rt->abuf, v->p, v->len);
		break;
	default:
		return NULL;
	}
	ev_buf_addc(&rt->abuf, '\0');
	return rt->abuf.p;
}

/* Every path any rule reads, in one scan of the line (and validated). */
static int
scan(struct ev_router *rt, const struct ev_line *l, struct ev_jerr *jerr)
{
	for (size_t o = 0; o < rt->npaths; o += EV_JPATH_MAX) {
		size_t n = rt->npaths - o < EV_JPATH_MAX ? rt->npaths - o : EV_JPATH_MAX;
		if (ev_json_scan(l->p, l->len, rt->paths + o, n, rt->vals + o, jerr) < 0)
			return -1;
	}
	return 0;
}

/* The type rules the event matches, in rule order, into rt->tmatch. */
static size_t
typematches(struct ev_router *rt)
{
	const char *type = NULL;
	size_t tlen = 0;

	if (ev_topicset_count(rt->types) == 0)
		return 0;
	if (rt->vals[0].type == EV_J_STRING)
		type = ev_jval_text(&rt->vals[0], &rt->tbuf, &tlen);
	return ev_topicset_match(rt->types, type, tlen, rt->tmatch);
}

/* A jq rule: the fast path on the values already found, or libjq (started
 * for this rule the first time it is needed). */
static int
jqtest(struct ev_router *rt, const struct rule *r, const struct ev_line *l)
{
	struct jqc *c = r->jq;
	int m = c->pred ? ev_pred_eval_found(c->pred, rt->vals, r->slots) : EV_PRED_DEFER;

	if (m >= 0)
		return m;
	if (!c->jq && !(c->jq = ev_jq_compile(c->expr, NULL, &rt->err)))
		return -1;
	return ev_jq_run(c->jq, l->p, l->len, EV_JQ_TEST, NULL, &rt->err);
}

/* Does a rule that is not a type pattern match? A jq error is reported and
 * counts as no match. */
static int
test(struct ev_router *rt, struct ev_input *in, struct rule *r, const struct ev_line *l)
{
	const char *g;
	int m;

	if (r->kind == K_GLOB)
		return (g = globtext(rt, &rt->vals[r->path])) && fnmatch(r->glob, g, 0) == 0;
	if ((m = jqtest(rt, r, l)) >= 0)
		return m;
	ev_linewarn(in->name, l->no, "%s (%s): %s; not matched", r->where, r->shown, rt->err.p);
	ev_input_fail(in, EV_ERROR);
	r->jqerr++;
	rt->jqerr++;
	return 0;
}

int
ev_router_route(struct ev_router *rt, struct ev_input *in, const struct ev_line *l)
{
	struct ev_jerr jerr = { 0, "not valid JSON", 1 };
	size_t nt, ti = 0, oi = 0, matched = 0;

	if (!ev_input_object(in, l, scan(rt, l, &jerr), &jerr))
		return 0;
	rt->seq++;
	nt = typematches(rt);
	/* the type rules that matched and the other rules, merged in rule order */
	while (ti < nt || oi < rt->nothers) {
		struct rule *r;
		if (oi == rt->nothers || (ti < nt && rt->tmatch[ti] < rt->others[oi]))
			r = &rt->rules[rt->tmatch[ti++]];
		else if (!test(rt, in, r = &rt->rules[rt->others[oi++]], l))
			continue;
		r->n++;
		matched++;
		if (deliver(rt, r->dest, l) < 0) {
			rt->matched++;
			return -1;
		}
		if (rt->conf.first)
			break;
	}
	if (matched) {
		rt->matched++;
		return 0;
	}
	rt->unmatched++;
	return rt->otherwise >= 0 ? deliver(rt, (size_t)rt->otherwise, l) : 0;
}
uintmax_t
ev_router_unmatched(const struct ev_router *rt)
{
	return rt->unmatched;
}

/* ---- counts ---- */

void
ev_router_stats(const struct ev_router *rt, const struct ev_input *in, enum ev_statsfmt fmt,
    FILE *f)
{
	struct ev_buf b = { 0 };

	if (fmt == EV_STATS_JSON) {
		ev_buf_printf(&b, "{\"in\":%ju,\"matched\":%ju,\"unmatched\":%ju,\"bad\":%ju,"
		    "\"jqerrors\":%ju,\"rules\":[", in->nlines, rt->matched, rt->unmatched,
		    in->nbad, rt->jqerr);
		for (size_t i = 0; i < rt->nrules; i++) {
			const struct rule *r = &rt->rules[i];
			ev_buf_adds(&b, i ? ",{\"rule\":" : "{\"rule\":");
			ev_buf_addjstr(&b, r->shown, strlen(r->shown));
			ev_buf_adds(&b, ",\"where\":");
			ev_buf_addjstr(&b, r->where, strlen(r->where));
			ev_buf_printf(&b, ",\"matched\":%ju,\"jqerrors\":%ju}", r->n, r->jqerr);
		}
		ev_buf_adds(&b, "],\"destinations\":[");
		for (size_t i = 0; i < rt->ndests; i++) {
			const char *name = rt->dests[i].shown;
			ev_buf_adds(&b, i ? ",{\"destination\":" : "{\"destination\":");
			ev_buf_addjstr(&b, name, strlen(name));
			ev_buf_printf(&b, ",\"events\":%ju}", rt->dests[i].n);
		}
		ev_buf_adds(&b, "]}\n");
	} else if (fmt == EV_STATS_TEXT) {
		ev_buf_printf(&b, "%s: in %ju, matched %ju, unmatched %ju, bad %ju, jq errors %ju\n",
		    ev_prog(), in->nlines, rt->matched, rt->unmatched, in->nbad, rt->jqerr);
		for (size_t i = 0; i < rt->nrules; i++)
			ev_buf_printf(&b, "%s: %s: matched %ju: %s\n", ev_prog(), rt->rules[i].where,
			    rt->rules[i].n, rt->rules[i].shown);
		for (size_t i = 0; i < rt->ndests; i++)
			ev_buf_printf(&b, "%s: destination %s: written %ju\n", ev_prog(),
			    rt->dests[i].shown, rt->dests[i].n);
	}
	if (b.len) {
		fflush(stdout);
		fwrite(b.p, 1, b.len, f);
		fflush(f);
	}
	ev_buf_free(&b);
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
/* A rule written twice counts the same twice: one series is enough. */
static int
repeated(const struct ev_router *rt, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(rt->rules[j].text, rt->rules[i].text) == 0)
			return 1;
	return 0;
}

/* One series per rule (or destination): its label beside the router's. */
static void
perrule(struct ev_prom *p, const char *name, const char *router, const char *label,
    const char *value, uintmax_t n)
{
	const char *lab[] = { "router", router, label, value, NULL };

	ev_prom_count(p, name, lab, n);
}

void
ev_router_prom(const struct ev_router *rt, const struct ev_input *in, struct ev_prom *pp)
{
	struct ev_prom p = { 0 };
	struct ev_buf router = { 0 };
	const char *path = in->prom, *base = strrchr(path, '/');

	/* The router label tells several evroutes on one host apart. */
	base = base ? base + 1 : path;
	ev_buf_add(&router, base, strlen(base) > 5 && strcmp(base + strlen(base) - 5, ".prom") == 0
	    ? strlen(base) - 5 : strlen(base));
	const char *lab[] = { "router", router.p, NULL };
	ev_prom_help(&p, "evroute_lines_total", "counter",
	    "Input lines read (= matched + unmatched + bad).");
	ev_prom_count(&p, "evroute_lines_total", lab, in->nlines);
	ev_prom_help(&p, "evroute_matched_total", "counter", "Events one rule or more matched.");
	ev_prom_count(&p, "evroute_matched_total", lab, rt->matched);
	ev_prom_help(&p, "evroute_unmatched_total", "counter", "Events no rule matched.");
	ev_prom_count(&p, "evroute_unmatched_total", lab, rt->unmatched);
	ev_prom_help(&p, "evroute_bad_lines_total", "counter", "Input lines that were not JSON.");
	ev_prom_count(&p, "evroute_bad_lines_total", lab, in->nbad);
	ev_prom_help(&p, "evroute_rule_matches_total", "counter", "Events each rule matched.");
	for (size_t i = 0; i < rt->nrules; i++)
		if (!repeated(rt, i))
			perrule(&p, "evroute_rule_matches_total", router.p, "rule",
			    rt->rules[i].shown, rt->rules[i].n);
	ev_prom_help(&p, "evroute_rule_jq_errors_total", "counter",
	    "jq errors per rule (counted as no match).");
	for (size_t i = 0; i < rt->nrules; i++)
		if (rt->rules[i].kind == K_JQ && !repeated(rt, i))
			perrule(&p, "evroute_rule_jq_errors_total", router.p, "rule",
			    rt->rules[i].shown, rt->rules[i].jqerr);
	ev_prom_help(&p, "evroute_destination_events_total", "counter",
	    "Events written to each destination.");
	for (size_t i = 0; i < rt->ndests; i++)
		perrule(&p, "evroute_destination_events_total", router.p, "destination",
		    rt->dests[i].shown, rt->dests[i].n);
	ev_buf_add(&pp->b, p.b.p, p.b.len);
	ev_prom_free(&p);
	ev_buf_free(&router);
}

/* ---- the end ---- */

int
ev_router_close(struct ev_router *rt)
{
	int ret = 0, e = 0;

	for (size_t i = 0; i < rt->ndests; i++) {
		if (rt->dests[i].sink && ev_sink_close(rt->dests[i].sink) < 0 && !ret) {
			ret = -1;
			e = errno;
		}
		rt->dests[i].sink = NULL;
	}
	errno = e;
	return ret;
}

void
ev_router_free(struct ev_router *rt)
{
	if (!rt)
		return;
	ev_router_close(rt);
	for (size_t i = 0; i < rt->nrules; i++)
		freerule(&rt->rules[i]);
	free(rt->rules);
	for (size_t i = 0; i < rt->ndests; i++) {
		free(rt->dests[i].loc);
		free(rt->dests[i].norm);
		free(rt->dests[i].shown);
	}
	free(rt->dests);
	for (size_t i = 0; i < rt->npaths; i++) {
		ev_jpath_free(rt->paths[i]);
		free(rt->pathtext[i]);
	}
	for (size_t i = 0; i < rt->nattrs; i++)
		free(rt->attrs[i]);
	free(rt->attrs);
	free(rt->attrpath);
	free(rt->pathtext);
	free(rt->paths);
	free(rt->vals);
	ev_topicset_free(rt->types);
	free(rt->tmatch);
	free(rt->others);
	free(rt->bytext);
	ev_buf_free(&rt->tbuf);
	ev_buf_free(&rt->abuf);
	ev_buf_free(&rt->err);
	free(rt);
}
