/* SPDX-License-Identifier: ISC */
/* url.h — HTTP(S) locations: what an http:// or https:// output says.
 *
 *   http[s]://host[:port][/path][?query][#name=value&...]
 *
 * Everything before '#' is the endpoint's, sent as written. The fragment,
 * which HTTP never sends, holds evkit's parameters (ev-http(7)): the
 * content mode, retries, parallel requests, TLS files. Secrets never come
 * from the command line: secret= and token= name where they are, an
 * environment variable (env:NAME) or a file (file:PATH, or a PATH).
 * The backend itself (POST with libcurl) is in sink.c.
 */
#ifndef EV_HTTP_URL_H
#define EV_HTTP_URL_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum ev_http_mode { EV_HTTP_STRUCTURED, EV_HTTP_BINARY, EV_HTTP_BATCH };

#define EV_HTTP_MAXPARALLEL 64

struct ev_http_conf {
	char *name;             /* the location without its parameters, for messages */
	char *url;              /* what is requested: the location up to '#' */
	int tls;
	enum ev_http_mode mode;
	unsigned batch_size;    /* EV_HTTP_BATCH: events per request at most */
	unsigned parallel;      /* requests outstanding at once */
	int64_t retry_ms;       /* how long temporary failures are retried; -1 forever */
	int64_t timeout_ms;     /* one request, all included */
	int64_t connect_ms;     /* one connection attempt */
	char *secret;           /* where the Standard Webhooks secret is (whsig.h), or NULL */
	char *token;            /* a bearer token, or NULL */
	char *cacertfile, *certfile, *keyfile;
	int verify;
};

/* Is loc an HTTP location (http:// or https://)? */
int ev_http_is(const char *loc);
/* Parse an output location, secrets included. 0, or -1 with the reason
 * in err (the caller names the location). */
int ev_http_parse(const char *loc, struct ev_http_conf *c, struct ev_buf *err);
void ev_http_conf_free(struct ev_http_conf *c);

#endif
