/* SPDX-License-Identifier: ISC */
/* predimpl.h — the compiled form of a predicate, shared by its parser
 * (pred.c) and its evaluator (predeval.c); not for other modules. */
#ifndef EV_PREDIMPL_H
#define EV_PREDIMPL_H

#include <stddef.h>

#include "base/buf.h"
#include "json/pred.h"
#include "json/regex.h"

enum nk { N_PATH, N_LIT, N_CMP, N_AND, N_OR, N_ALT, N_NOT, N_SELECT, N_STARTS, N_ENDS,
	N_TEST, N_HAS, N_PIPE, N_ANY, N_ALL, N_ITER, N_ITERCMP, N_LENGTH, N_LOWER, N_UPPER,
	N_ARITH };
enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV };
enum { R_OK, R_EMPTY, R_ERR, R_DEFER }; /* in that order of precedence for combine() */

struct val {
	enum ev_jtype t;  /* EV_J_MISSING is never a value: it is null */
	double num;
	const char *s;    /* a string: decoded bytes, or with raw set the JSON text */
	size_t len;
	int raw;          /* s/len is the string's JSON text (quotes, escapes) */
};

struct node {
	enum nk k;
	int op, a, b;     /* operator; children (node indexes) */
	int slot;         /* N_PATH, N_HAS: the path's index */
	int flip;         /* N_ITERCMP: the literal is on the left */
	struct val lit;   /* N_LIT; N_TEST: the substring; N_ITERCMP: the literal */
	struct ev_regex *re;  /* N_TEST: the regex, or NULL for a plain substring */
	struct ev_pred *sub;  /* N_ANY, N_ALL: the condition, on each element */
	struct ev_buf buf;    /* N_LOWER, N_UPPER: the result */
};

struct ev_pred {
	struct node *n;
	size_t nn, capn;
	int root;
	struct ev_jpath *paths[EV_JPATH_MAX];
	char *pathtext[EV_JPATH_MAX];
	struct ev_jval vals[EV_JPATH_MAX];
	size_t npaths;
	/* A condition of any() or all() that reads only "." and keys with no
	 * escape (["qty"]): each element's values are found by elemfind. */
	int simple;
	const char *key[EV_JPATH_MAX]; /* path i's key as it stands in JSON, or NULL for "." */
	size_t keylen[EV_JPATH_MAX];
	struct ev_buf lits;   /* decoded literal strings (offsets fixed at the end) */
	struct ev_buf dec[2]; /* decoded escaped strings, per comparison side */
};

#endif
