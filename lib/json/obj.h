/* SPDX-License-Identifier: ISC */
/* obj.h — a JSON object built from dotted keys, as httpie and jo read them:
 *
 *   name=ada              {"name":"ada"}          a string, taken as it is
 *   n:=42                 {"n":42}                a JSON value
 *   customer.name=ada     {"customer":{"name":"ada"}}
 *   a\.b=1                {"a.b":"1"}             a backslash escapes . = : and itself
 *
 * Members keep the order they were given in. A key given twice, or a key
 * used both as a value and as an object ("a=1 a.b=2"), is an error. An
 * object can be cleared and refilled without allocating again.
 */
#ifndef EV_OBJ_H
#define EV_OBJ_H
#include <stddef.h>

#include "base/buf.h"
#include "base/mem.h"

struct ev_obj;

struct ev_obj *ev_obj_new(void);
/* One "key=string" or "key:=json" operand. 0, or -1 with the reason in err. */
int ev_obj_field(struct ev_obj *o, const char *field, struct ev_buf *err);
enum ev_objval {
	EV_OBJ_STRING, /* any bytes, made a JSON string */
	EV_OBJ_JSON,   /* JSON text: checked, and white space between tokens dropped */
	EV_OBJ_RAW     /* JSON text the caller has checked: taken as it is */
};
/* Set the member at a dotted key (escapes as above) to val. 0, or -1 with
 * the reason in err (the object may then hold part of the key: clear it). */
int ev_obj_set(struct ev_obj *o, const char *key, size_t klen, const char *val, size_t vlen,
    enum ev_objval kind, struct ev_buf *err);
/* Check a dotted key without setting anything: 0, or -1 with the reason. */
int ev_obj_checkkey(const char *key, size_t klen, struct ev_buf *err);
int ev_obj_empty(const struct ev_obj *o);
/* Append the object as compact JSON. */
void ev_obj_dump(const struct ev_obj *o, struct ev_buf *out);
/* Forget every member, keep the memory. */
void ev_obj_clear(struct ev_obj *o);
void ev_obj_free(struct ev_obj *o);

#endif
