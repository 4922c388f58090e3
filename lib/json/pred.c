/* SPDX-License-Identifier: ISC */
/* pred.c — see pred.h; predeval.c evaluates what this compiles.
 *
 * A recursive-descent parser for a subset of jq's grammar, with jq's
 * precedence (| lowest and right-associative, then //, or, and, the
 * non-associative comparisons, unary minus on a number) builds a small
 * tree in an array. Every path, composed with the paths it is piped from
 * (`.data | .amount` reads .data.amount), becomes one ev_jpath: one
 * ev_json_scan per line validates the line and finds them all.

 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/predimpl.h"

/* ---- the parser ---- */

struct parser {
	struct ev_pred *p;
	const char *s, *start;
	const struct ev_predarg *args;
	size_t nargs;
	struct ev_buf *why;
	int failed;
	int sub;          /* parsing the condition of any() or all() */
};

static int
fail(struct parser *ps, const char *what)
{
	if (!ps->failed) {
		ev_buf_reset(ps->why);
		ev_buf_printf(ps->why, "%s at column %zu", what, (size_t)(ps->s - ps->start) + 1);
		ps->failed = 1;
	}
	return -1;
}

/* jq 1.6's lexer skips space, tab and newline only: a CR is a syntax error */
static void
skipws(struct parser *ps)
{
	while (*ps->s == ' ' || *ps->s == '\t' || *ps->s == '\n')
		ps->s++;
}

static int
isident0(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
isident(char c)
{
	return isident0(c) || (c >= '0' && c <= '9');
}

/* Is the next token the word w (an identifier, not a prefix of one)? */
static int
word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);
	skipws(ps);
	if (strncmp(ps->s, w, n) != 0 || isident(ps->s[n]) || ps->s[n] == ':')
		return 0;
	ps->s += n;
	return 1;
}

static int
punct(struct parser *ps, const char *t)
{
	size_t n = strlen(t);
	skipws(ps);
	if (strncmp(ps->s, t, n) != 0)
		return 0;
	ps->s += n;
	return 1;
}

static int
newnode(struct parser *ps, enum nk k)
{
	struct ev_pred *p = ps->p;
	if (p->nn == p->capn) {
		p->capn = p->capn ? 2 * p->capn : 16;
		p->n = ev_reallocarray(p->n, p->capn, sizeof *p->n);
	}
	p->n[p->nn] = (struct node){ .k = k, .a = -1, .b = -1, .slot = -1 };
	return (int)p->nn++;
}

/* The path slot for the path text t (jsonscan syntax), shared. */
static int
pathslot(struct parser *ps, const char *t)
{
	struct ev_pred *p = ps->p;
	for (size_t i = 0; i < p->npaths; i++)
		if (strcmp(p->pathtext[i], t) == 0)
			return (int)i;
	if (p->npaths == EV_JPATH_MAX)
		return fail(ps, "too many paths");
	struct ev_buf err = { 0 };
	struct ev_jpath *jp = ev_jpath_compile(t, &err);
	ev_buf_free(&err);
	if (!jp)
		return fail(ps, "a path the scanner cannot follow");
	p->paths[p->npaths] = jp;
	p->pathtext[p->npaths] = ev_strdup(t);
	return (int)p->npaths++;
}

static int
pathnode(struct parser *ps, const char *t)
{
	int slot = pathslot(ps, t);
	if (slot < 0)
		return -1;
	int n = newnode(ps, N_PATH);
	ps->p->n[n].slot = slot;
	return n;
}

/* A JSON string's text at s (quotes included, n bytes) decoded into the
 * literal store; -1 if it is not a JSON string. */
static int
strlit(struct parser *ps, const char *s, size_t n, struct val *v)
{
	struct ev_jpath *dot;
	struct ev_jval jv;
	struct ev_buf err = { 0 };

	dot = ev_jpath_compile(".", &err);
	ev_buf_free(&err);
	int r = ev_json_scan(s, n, &dot, 1, &jv, NULL);
	ev_jpath_free(dot);
	if (r < 0 || jv.type != EV_J_STRING)
		return -1;
	*v = (struct val){ .t = EV_J_STRING, .s = (const char *)(uintptr_t)ps->p->lits.len };
	ev_jval_str(&jv, &ps->p->lits);
	v->len = ps->p->lits.len - (size_t)(uintptr_t)v->s;
	return 0;
}

/* A scalar JSON text (an --argjson value) as a value; -1 for a container. */
static int
jsonlit(struct parser *ps, const char *s, struct val *v)
{
	struct ev_jpath *dot;
	struct ev_jval jv;
	struct ev_buf err = { 0 };

	dot = ev_jpath_compile(".", &err);
	ev_buf_free(&err);
	int r = ev_json_scan(s, strlen(s), &dot, 1, &jv, NULL);
	ev_jpath_free(dot);
	if (r < 0)
		return -1;
	switch (jv.type) {
	case EV_J_NULL: case EV_J_FALSE: case EV_J_TRUE:
		*v = (struct val){ .t = jv.type };
		return 0;
	case EV_J_NUMBER:
		*v = (struct val){ .t = EV_J_NUMBER, .num = ev_jval_num(&jv) };
		return 0;
	case EV_J_STRING:
		return strlit(ps, jv.p, jv.len, v);
	default:
		return -1;
	}
}

/* A jq string literal at ps->s: JSON escapes only (no interpolation). */
static int
jqstring(struct parser *ps, struct val *v)
{
	const char *s = ps->s, *e = s + 1;
	while (*e && *e != '"') {
		if (*e == '\\') {
			if (e[1] == '(')
				return fail(ps, "string interpolation");
			if (e[1])
				e++;
		}
		e++;
	}
	if (*e != '"')
		return fail(ps, "an unterminated string");
	if (strlit(ps, s, (size_t)(e + 1 - s), v) < 0)
		return fail(ps, "a string literal the scanner rejects");
	ps->s = e + 1;
	return 0;
}

/* A [...] step at *sp: ["key"] or [N], appended to out. */
static int
bracketstep(struct parser *ps, const char **sp, struct ev_buf *out)
{
	const char *s = *sp;

	if (s[1] == '"') {
		struct val v;
		ps->s = s + 1;
		if (jqstring(ps, &v) < 0)
			return -1;
		s = ps->s;
		if (*s != ']')
			return fail(ps, "an index expression");
		s++;
		ev_buf_adds(out, "[");
		ev_buf_addjstr(out, ps->p->lits.p + (uintptr_t)v.s, v.len);
		ev_buf_adds(out, "]");
	} else if (s[1] >= '0' && s[1] <= '9') {
		const char *d = ++s;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s != ']' || s - d > 9 || (*d == '0' && s - d > 1))
			return fail(ps, "an index expression");
		ev_buf_adds(out, "[");
		ev_buf_add(out, d, (size_t)(s - d));
		ev_buf_adds(out, "]");
		s++;
	} else
		return fail(ps, "an index expression");
	*sp = s;
	return 0;
}

/* A path at ps->s ('.' first), appended in jsonscan syntax to out. */
static int
pathsteps(struct parser *ps, struct ev_buf *out)
{
	const char *s = ps->s;
	int first = 1;

	for (;;) {
		if (*s == '.' && (first || s[1] != '[')) {
			if (isident0(s[1])) {
				const char *k = ++s;
				while (isident(*s))
					s++;
				if (*s == ':')
					return fail(ps, "a module reference");
				ev_buf_adds(out, "[");
				ev_buf_addjstr(out, k, (size_t)(s - k));
				ev_buf_adds(out, "]");
			} else if (s[1] == '"') {
				struct val v;
				ps->s = s + 1;
				if (jqstring(ps, &v) < 0)
					return -1;
				s = ps->s;
				ev_buf_adds(out, "[");
				ev_buf_addjstr(out, ps->p->lits.p + (uintptr_t)v.s, v.len);
				ev_buf_adds(out, "]");
			} else if (first && s[1] == '[') {
				s++;
				continue;
			} else if (first) {
				s++; /* "." alone */
				if (*s == '.' || isident(*s))
					return fail(ps, "recursion or a number");
			} else
				break;
		} else if (*s == '[' && s[1] == ']') {
			break; /* .path[]: an iteration, the caller's business */
		} else if (*s == '[') {
			if (bracketstep(ps, &s, out) < 0)
				return -1;
		} else
			break;
		first = 0;
	}
	if (*s == '?')
		return fail(ps, "the ? operator");
	ps->s = s;
	return 0;
}

static int parsepipe(struct parser *ps, int ctx);

/* The context node: the input of the expression being parsed (-1: the
 * whole event, made on first use). */
static int
ctxnode(struct parser *ps, int *ctx)
{
	if (*ctx < 0)
		*ctx = pathnode(ps, ".");
	return *ctx;
}

/* The path text of a path node. */
static const char *
ptext(struct parser *ps, int n)
{
	return ps->p->pathtext[ps->p->n[n].slot];
}

static int
funcarg(struct parser *ps, int ctx)
{
	if (!punct(ps, "("))
		return fail(ps, "a function without its argument");
	int a = parsepipe(ps, ctx);
	if (a < 0)
		return -1;
	if (!punct(ps, ")"))
		return fail(ps, "more than one argument");
	return a;
}

/* A constant string argument: "..." or $name. */
static int
strarg(struct parser *ps, int ctx, struct val *v)
{
	int a = funcarg(ps, ctx);
	if (a < 0)
		return -1;
	if (ps->p->n[a].k != N_LIT || ps->p->n[a].lit.t != EV_J_STRING)
		return fail(ps, "an argument that is not a literal string");
	*v = ps->p->n[a].lit;
	return 0;
}

/* ( pipe ) */
static int
parens(struct parser *ps, int ctx)
{
	int n;

	ps->s++;
	if ((n = parsepipe(ps, ctx)) < 0)
		return -1;
	if (!punct(ps, ")"))
		return fail(ps, "an unclosed parenthesis");
	skipws(ps);
	if (*ps->s == '.' || *ps->s == '[' || *ps->s == '?')
		return fail(ps, "a postfix on a parenthesised expression");
	return n;
}

/* A path, from the context's. */
static int
pathterm(struct parser *ps, int ctx)
{
	const char *s = ps->s;
	struct ev_buf t = { 0 };
	int n;

	if (ctx >= 0 && ps->p->n[ctx].k != N_PATH) {
		/* only "." itself reads a computed input */
		if (s[1] == '.' || s[1] == '[' || s[1] == '"' || isident0(s[1]))
			return fail(ps, "a path into a computed value");
		ps->s++;
		return ctx;
	}
	ev_buf_adds(&t, ctx >= 0 ? ptext(ps, ctx) : ".");
	if (pathsteps(ps, &t) < 0) {
		ev_buf_free(&t);
		return -1;
	}
	n = pathnode(ps, t.p);
	ev_buf_free(&t);
	return n;
}

/* jq's number: ([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? */
static int
numberlit(struct parser *ps)
{
	const char *s = ps->s, *d = *s == '-' ? s + 1 : s, *e = d;
	int n;

	while (*e >= '0' && *e <= '9')
		e++;
	if (*e == '.') {
		e++;
		while (*e >= '0' && *e <= '9')
			e++;
	}
	if (e == d + 1 && *d == '.')
		return fail(ps, "a number");
	if (*e == 'e' || *e == 'E') {
		const char *x = e + 1;
		if (*x == '+' || *x == '-')
			x++;
		if (!(*x >= '0' && *x <= '9'))
			return fail(ps, "a number");
		while (*x >= '0' && *x <= '9')
			x++;
		e = x;
	}
	if (isident(*e) || *e == '.')
		return fail(ps, "a number");
	char *buf = ev_strndup(d, (size_t)(e - d));
	n = newnode(ps, N_LIT);
	ps->p->n[n].lit = (struct val){ .t = EV_J_NUMBER, .num = strtod(buf, NULL) };
	if (*s == '-')
		ps->p->n[n].lit.num = -ps->p->n[n].lit.num;
	free(buf);
	ps->s = e;
	return n;
}

/* $name: an --arg or --argjson, a literal. */
static int
variable(struct parser *ps)
{
	const char *k = ps->s + 1, *e = k;
	int n;

	while (isident(*e))
		e++;
	for (size_t i = ps->nargs; i-- > 0;)
		if (strlen(ps->args[i].name) == (size_t)(e - k) &&
		    memcmp(ps->args[i].name, k, (size_t)(e - k)) == 0 && e > k && *e != ':') {
			struct val v;
			if (jsonlit(ps, ps->args[i].json, &v) < 0)
				return fail(ps, "an argument that is not a scalar");
			n = newnode(ps, N_LIT);
			ps->p->n[n].lit = v;
			ps->s = e;
			return n;
		}
	return fail(ps, "an unknown variable");
}

/* A literal string argument, or null when nullok (then v->t is EV_J_NULL). */
static int
litarg(struct parser *ps, int ctx, struct val *v, int nullok)
{
	int a = parsepipe(ps, ctx);
	if (a < 0)
		return -1;
	const struct node *n = &ps->p->n[a];
	if (n->k != N_LIT || !(n->lit.t == EV_J_STRING || (nullok && n->lit.t == EV_J_NULL)))
		return fail(ps, "an argument that is not a literal string");
	*v = n->lit;
	return 0;
}

/* test(re), test(re; flags) on the context c: a regex with no special
 * character and no flags is a substring (memmem); any other is compiled
 * once with Oniguruma as jq 1.6 compiles it on each call (json/regex.h). */
static int
testfn(struct parser *ps, int c, int ctx)
{
	struct ev_pred *p = ps->p;
	struct val v, f = { .t = EV_J_NULL };
	int n, plain = 1;

	if (!punct(ps, "("))
		return fail(ps, "a function without its argument");
	if (litarg(ps, ctx, &v, 0) < 0)
		return -1;
	if (punct(ps, ";") && litarg(ps, ctx, &f, 1) < 0)
		return -1;
	if (!punct(ps, ")"))
		return fail(ps, "more than two arguments");
	const char *r = p->lits.p + (uintptr_t)v.s;
	for (size_t i = 0; i < v.len; i++)
		if (strchr("\\^$.|?*+()[]{}", r[i]) || (unsigned char)r[i] < 0x20)
			plain = 0;
	n = newnode(ps, N_TEST);
	p->n[n].a = c;
	p->n[n].lit = v;
	if (plain && f.t == EV_J_NULL)
		return n;
	struct ev_buf why = { 0 };
	const char *fl = f.t == EV_J_STRING ? p->lits.p + (uintptr_t)f.s : NULL;
	p->n[n].re = ev_regex_compile(r, v.len, fl, f.len, &why);
	if (!p->n[n].re) {
		fail(ps, why.p);
		ev_buf_free(&why);
		return -1;
	}
	ev_buf_free(&why);
	return n;
}

static int finish(struct parser *ps);

/* The condition of any(GEN; COND) or all(GEN; COND): a predicate of its
 * own, on each element, with the paths it reads relative to the element. */
static struct ev_pred *
subpred(struct parser *ps)
{
	struct ev_pred *sub = ev_calloc(1, sizeof *sub);
	struct parser cs = { .p = sub, .s = ps->s, .start = ps->start, .args = ps->args,
		.nargs = ps->nargs, .why = ps->why, .sub = 1 };

	sub->root = parsepipe(&cs, -1);
	ps->s = cs.s;
	if (cs.failed || finish(&cs) < 0) {
		ps->failed = 1;
		ev_pred_free(sub);
		return NULL;
	}
	sub->simple = 1;
	for (size_t i = 0; i < sub->npaths; i++) {
		const char *t = sub->pathtext[i];
		size_t n = strlen(t);
		if (strcmp(t, ".") == 0)
			continue;
		/* .["key"], one step, no escape */
		if (n >= 5 && t[1] == '[' && t[2] == '"' && t[n - 2] == '"' && t[n - 1] == ']' &&
		    !memchr(t + 3, '"', n - 5) && !memchr(t + 3, '\\', n - 5)) {
			sub->key[i] = t + 3;
			sub->keylen[i] = n - 5;
		} else
			sub->simple = 0;
	}
	return sub;
}

/* any(.path[]; cond), all(.path[]; cond) on the context. */
static int
anyall(struct parser *ps, int ctx, enum nk k)
{
	int g, n;

	if (!punct(ps, "("))
		return fail(ps, "a function without its argument");
	skipws(ps);
	if (*ps->s != '.')
		return fail(ps, "a generator that is not .path[]");
	if ((g = pathterm(ps, ctx)) < 0)
		return -1;
	if (ps->p->n[g].k != N_PATH || !punct(ps, "[]"))
		return fail(ps, "a generator that is not .path[]");
	if (!punct(ps, ";"))
		return fail(ps, "any or all without a condition");
	struct ev_pred *sub = subpred(ps);
	if (!sub)
		return -1;
	if (!punct(ps, ")")) {
		ev_pred_free(sub);
		return fail(ps, "more than two arguments");
	}
	n = newnode(ps, k);
	ps->p->n[n].a = g;
	ps->p->n[n].sub = sub;
	return n;
}

/* has("key") on the context c, a path: the path to the key, read by the scan. */
static int
hasfn(struct parser *ps, int c, int ctx)
{
	struct ev_pred *p = ps->p;
	struct ev_buf t = { 0 };
	struct val v;
	int n, slot;

	if (strarg(ps, ctx, &v) < 0)
		return -1;
	if (p->n[c].k != N_PATH)
		return fail(ps, "has() on a computed value");
	ev_buf_adds(&t, ptext(ps, c));
	ev_buf_adds(&t, "[");
	ev_buf_addjstr(&t, p->lits.p + (uintptr_t)v.s, v.len);
	ev_buf_adds(&t, "]");
	slot = pathslot(ps, t.p);
	ev_buf_free(&t);
	if (slot < 0)
		return -1;
	n = newnode(ps, N_HAS);
	p->n[n].a = c;
	p->n[n].slot = slot;
	return n;
}

/* A word: true, false, null, or a function on the context. */
static int
wordterm(struct parser *ps, int ctx)
{
	static const struct { const char *w; enum ev_jtype t; } consts[] = {
		{ "true", EV_J_TRUE }, { "false", EV_J_FALSE }, { "null", EV_J_NULL } };
	static const struct { const char *w; enum nk k; } funcs[] = {
		{ "select", N_SELECT }, { "startswith", N_STARTS }, { "endswith", N_ENDS } };
	struct ev_pred *p = ps->p;
	int n, c;

	for (size_t i = 0; i < 3; i++)
		if (word(ps, consts[i].w)) {
			n = newnode(ps, N_LIT);
			p->n[n].lit.t = consts[i].t;
			return n;
		}
	if (word(ps, "not")) {
		c = ctxnode(ps, &ctx);
		n = newnode(ps, N_NOT);
		p->n[n].a = c;
		return c < 0 ? -1 : n;
	}
	for (size_t i = 0; i < 3; i++)
		if (word(ps, funcs[i].w)) {
			if ((c = ctxnode(ps, &ctx)) < 0)
				return -1;
			int a = funcarg(ps, ctx);
			if (a < 0)
				return -1;
			n = newnode(ps, funcs[i].k);
			p->n[n].a = c;
			p->n[n].b = a;
			return n;
		}
	if (word(ps, "test"))
		return (c = ctxnode(ps, &ctx)) < 0 ? -1 : testfn(ps, c, ctx);
	if (word(ps, "any"))
		return anyall(ps, ctx, N_ANY);
	if (word(ps, "all"))
		return anyall(ps, ctx, N_ALL);
	static const struct { const char *w; enum nk k; } unary[] = {
		{ "length", N_LENGTH }, { "ascii_downcase", N_LOWER }, { "ascii_upcase", N_UPPER } };
	for (size_t i = 0; i < 3; i++)
		if (word(ps, unary[i].w)) {
			if ((c = ctxnode(ps, &ctx)) < 0)
				return -1;
			n = newnode(ps, unary[i].k);
			p->n[n].a = c;
			return n;
		}
	if (word(ps, "has"))
		return (c = ctxnode(ps, &ctx)) < 0 ? -1 : hasfn(ps, c, ctx);
	return fail(ps, "an expression of an unsupported shape");
}

static int
parseterm(struct parser *ps, int ctx)
{
	struct ev_pred *p = ps->p;
	int n;

	skipws(ps);
	const char *s = ps->s;
	if (*s == '(')
		return parens(ps, ctx);
	if ((*s == '.' && !(s[1] >= '0' && s[1] <= '9'))) {
		if ((n = pathterm(ps, ctx)) < 0 || strncmp(ps->s, "[]", 2) != 0)
			return n;
		/* .path[]: only compared with a literal (parsecmp), and only where
		 * "some output is true" is what counts (finish) */
		if (p->n[n].k != N_PATH || ps->s[2] == '.' || ps->s[2] == '[' || ps->s[2] == '?')
			return fail(ps, "an iteration of an unsupported shape");
		ps->s += 2;
		int it = newnode(ps, N_ITER);
		p->n[it].a = n;
		return it;
	}
	if ((*s >= '0' && *s <= '9') || *s == '.' || (*s == '-' && (s[1] == '.' ||
	    (s[1] >= '0' && s[1] <= '9'))))
		return numberlit(ps);
	if (*s == '"') {
		struct val v;
		if (jqstring(ps, &v) < 0)
			return -1;
		n = newnode(ps, N_LIT);
		p->n[n].lit = v;
		return n;
	}
	if (*s == '$')
		return variable(ps);
	return wordterm(ps, ctx);
}

/* An arithmetic operator at ps->s among those of ops ("+-" or "*\/"),
 * not an update (+=) nor the alternative (//). */
static int
arithop(struct parser *ps, const char *ops)
{
	skipws(ps);
	const char *s = ps->s;
	if (!*s || !strchr(ops, *s) || s[1] == '=' || (*s == '/' && s[1] == '/'))
		return -1;
	ps->s++;
	switch (*s) {
	case '+': return OP_ADD;
	case '-': return OP_SUB;
	case '*': return OP_MUL;
	default: return OP_DIV;
	}
}

/* l op r. jq 1.6 folds an operation on two constants when it parses it
 * (null + c is c; numbers as doubles), and refuses a division whose folded
 * result is infinite ("Division by zero?"): so do we, and we leave a NaN
 * (0/0) to libjq rather than compare it as jq compares constants. */
static int
arithnode(struct parser *ps, int op, int l, int r)
{
	struct ev_pred *p = ps->p;
	const struct val *a = &p->n[l].lit, *b = &p->n[r].lit;

	if (p->n[l].k == N_LIT && p->n[r].k == N_LIT) {
		if (op == OP_ADD && (a->t == EV_J_NULL || b->t == EV_J_NULL))
			return a->t == EV_J_NULL ? r : l;
		if (a->t == EV_J_NUMBER && b->t == EV_J_NUMBER) {
			double x = a->num, y = b->num;
			x = op == OP_ADD ? x + y : op == OP_SUB ? x - y : op == OP_MUL ? x * y : x / y;
			if (op == OP_DIV && isinf(x))
				return fail(ps, "a division by zero");
			if (isnan(x))
				return fail(ps, "a constant that is not a number");
			int n = newnode(ps, N_LIT);
			p->n[n].lit = (struct val){ .t = EV_J_NUMBER, .num = x };
			return n;
		}
	}
	int n = newnode(ps, N_ARITH);
	p->n[n].op = op;
	p->n[n].a = l;
	p->n[n].b = r;
	return n;
}

static int
parsemul(struct parser *ps, int ctx)
{
	int l = parseterm(ps, ctx), op;
	while (l >= 0 && (op = arithop(ps, "*/")) >= 0) {
		int r = parseterm(ps, ctx);
		if (r < 0)
			return -1;
		l = arithnode(ps, op, l, r);
	}
	return l;
}

static int
parseadd(struct parser *ps, int ctx)
{
	int l = parsemul(ps, ctx), op;
	while (l >= 0 && (op = arithop(ps, "+-")) >= 0) {
		int r = parsemul(ps, ctx);
		if (r < 0)
			return -1;
		l = arithnode(ps, op, l, r);
	}
	return l;
}

static int
parsecmp(struct parser *ps, int ctx)
{
	static const struct { const char *t; int op; } ops[] = {
		{ "==", OP_EQ }, { "!=", OP_NE }, { "<=", OP_LE }, { ">=", OP_GE },
		{ "<", OP_LT }, { ">", OP_GT } };
	struct ev_pred *p = ps->p;
	int l = parseadd(ps, ctx);
	if (l < 0)
		return -1;
	for (size_t i = 0; i < 6; i++) {
		skipws(ps);
		if (strncmp(ps->s, ops[i].t, strlen(ops[i].t)) != 0 ||
		    (ops[i].t[1] == 0 && ps->s[1] == '='))
			continue;
		ps->s += strlen(ops[i].t);
		int r = parseadd(ps, ctx);
		if (r < 0)
			return -1;
		int n = newnode(ps, N_CMP);
		p->n[n].op = ops[i].op;
		p->n[n].a = l;
		p->n[n].b = r;
		/* .path[] OP literal, literal OP .path[] */
		int it = p->n[l].k == N_ITER ? l : p->n[r].k == N_ITER ? r : -1;
		int lit = it == l ? r : l;
		if (it >= 0 && p->n[lit].k == N_LIT) {
			p->n[n].k = N_ITERCMP;
			p->n[n].flip = it == r;
			p->n[n].a = p->n[it].a;
			p->n[n].lit = p->n[lit].lit;
			p->n[it] = (struct node){ .k = N_LIT, .a = -1, .b = -1, .slot = -1,
				.lit = { .t = EV_J_NULL } }; /* unused */
		}
		return n;
	}
	return l;
}

static int
parseand(struct parser *ps, int ctx)
{
	int l = parsecmp(ps, ctx);
	while (l >= 0 && word(ps, "and")) {
		int r = parsecmp(ps, ctx);
		if (r < 0)
			return -1;
		int n = newnode(ps, N_AND);
		ps->p->n[n].a = l;
		ps->p->n[n].b = r;
		l = n;
	}
	return l;
}

static int
parseor(struct parser *ps, int ctx)
{
	int l = parseand(ps, ctx);
	while (l >= 0 && word(ps, "or")) {
		int r = parseand(ps, ctx);
		if (r < 0)
			return -1;
		int n = newnode(ps, N_OR);
		ps->p->n[n].a = l;
		ps->p->n[n].b = r;
		l = n;
	}
	return l;
}

static int
parsealt(struct parser *ps, int ctx)
{
	int l = parseor(ps, ctx);
	if (l >= 0 && punct(ps, "//")) {
		int r = parsealt(ps, ctx);
		if (r < 0)
			return -1;
		int n = newnode(ps, N_ALT);
		ps->p->n[n].a = l;
		ps->p->n[n].b = r;
		return n;
	}
	return l;
}

static int
parsepipe(struct parser *ps, int ctx)
{
	int l = parsealt(ps, ctx);
	skipws(ps);
	if (l >= 0 && *ps->s == '|' && ps->s[1] != '=') {
		ps->s++;
		int r = parsepipe(ps, l);
		if (r < 0)
			return -1;
		int n = newnode(ps, N_PIPE);
		ps->p->n[n].a = l;
		ps->p->n[n].b = r;
		return n;
	}
	return l;
}

/* May the iteration node i stand where it is? Only where its outputs are
 * the predicate's: the root, or select's condition at the root. */
static int
iterplace(const struct parser *ps, int i)
{
	const struct ev_pred *p = ps->p;
	const struct node *r = &p->n[p->root];

	if (ps->sub)
		return 0;
	return i == p->root || (r->k == N_SELECT && r->b == i && p->n[r->a].k == N_PATH &&
	    strcmp(p->pathtext[p->n[r->a].slot], ".") == 0);
}

/* The end of a parse: iterations only where they may be; literal strings
 * were stored as offsets while the store grew. */
static int
finish(struct parser *ps)
{
	struct ev_pred *p = ps->p;

	if (p->root < 0)
		return -1;
	for (size_t i = 0; i < p->nn; i++) {
		if (p->n[i].k == N_ITER || (p->n[i].k == N_ITERCMP && !iterplace(ps, (int)i)))
			return fail(ps, "an iteration outside any(), all() or a comparison at the top");
	}
	for (size_t i = 0; i < p->nn; i++)
		if (p->n[i].lit.t == EV_J_STRING)
			p->n[i].lit.s = p->lits.p + (uintptr_t)p->n[i].lit.s;
	return 0;
}

struct ev_pred *
ev_pred_compile(const char *expr, const struct ev_predarg *args, size_t nargs,
    struct ev_buf *why)
{
	struct ev_pred *p = ev_calloc(1, sizeof *p);
	struct parser ps = { .p = p, .s = expr, .start = expr, .args = args, .nargs = nargs,
		.why = why };

	ev_buf_reset(why);
	p->root = parsepipe(&ps, -1);
	skipws(&ps);
	if (p->root >= 0 && *ps.s)
		fail(&ps, "an expression of an unsupported shape");
	if (ps.failed || finish(&ps) < 0) {
		ev_pred_free(p);
		return NULL;
	}
	return p;
}

void
ev_pred_free(struct ev_pred *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->npaths; i++) {
		ev_jpath_free(p->paths[i]);
		free(p->pathtext[i]);
	}
	for (size_t i = 0; i < p->nn; i++) {
		ev_regex_free(p->n[i].re);
		ev_pred_free(p->n[i].sub);
		ev_buf_free(&p->n[i].buf);
	}
	free(p->n);
	ev_buf_free(&p->lits);
	ev_buf_free(&p->dec[0]);
	ev_buf_free(&p->dec[1]);
	free(p);
}

void
ev_pred_paths(const struct ev_pred *p, struct ev_buf *out)
{
	for (size_t i = 0; i < p->npaths; i++) {
		const char *t = p->pathtext[i] + 1;
		if (i)
			ev_buf_adds(out, ", ");
		if (!*t)
			ev_buf_addc(out, '.');
		/* ["name"] as .name where jq would write it so */
		while (*t) {
			size_t n = strcspn(t, "]");
			int plain = t[1] == '"' && isident0(t[2]) && n >= 4;
			for (size_t j = 2; plain && j < n - 1; j++)
				plain = isident(t[j]);
			if (plain) {
				ev_buf_addc(out, '.');
				ev_buf_add(out, t + 2, n - 3);
			} else if (t[1] == '"') {
				/* a key that needs quoting: find the closing quote */
				const char *q = t + 2;
				while (*q != '"')
					q += *q == '\\' ? 2 : 1;
				n = (size_t)(q + 1 - t);
				ev_buf_addc(out, '.');
				ev_buf_add(out, t, n + 1);
			} else {
				ev_buf_add(out, t, n + 1);
			}
			t += n + 1;
		}
	}
}

