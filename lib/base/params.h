/* SPDX-License-Identifier: ISC */
/* params.h — the name=value&... parameters of a location (an amqp:// URL's
 * query, an http:// location's fragment): the walk, percent-decoding,
 * numbers. Each backend says what its names mean. */
#ifndef EV_PARAMS_H
#define EV_PARAMS_H
#include <stdint.h>

#include "base/buf.h"

/* Called for each name=value with the value percent-decoded (v is the
 * callee's to keep or free); 0, or -1 with the reason in err. */
typedef int ev_param_fn(void *arg, const char *name, char *v, struct ev_buf *err);

/* Walk q ("name=value&name=value", empty parts skipped). 0, or -1 with the
 * reason in err (a part without '=', a bad %-escape, or set's reason). */
int ev_params_each(const char *q, ev_param_fn *set, void *arg, struct ev_buf *err);
/* A decimal number from 0 to max: 0 and *out, or -1. */
int ev_params_uint(const char *v, unsigned long max, unsigned long *out);
/* A string parameter given once: v kept in *slot; 0, or -1 with the
 * reason in err (v freed). */
int ev_params_once(char **slot, const char *name, char *v, struct ev_buf *err);
/* verify=peer|none (TLS): 0 and *verify, or -1 with the reason in err. */
int ev_params_verify(const char *v, int *verify, struct ev_buf *err);
/* A duration (base/time.h) in *ms, above 0 when nonzero asks; retry (the
 * name) also takes "forever" (-1). 0, or -1 with the reason in err. */
int ev_params_duration(const char *name, const char *v, int nonzero, int64_t *ms,
    struct ev_buf *err);

#endif
