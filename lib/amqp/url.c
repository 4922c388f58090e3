/* SPDX-License-Identifier: ISC */
/* url.c — parse a broker location and find its password (see url.h). */
#include <amqp.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/params.h"
#include "amqp/url.h"
#include "base/time.h"

int
ev_amqp_is(const char *loc)
{
	return strncasecmp(loc, "amqp://", 7) == 0 || strncasecmp(loc, "amqps://", 8) == 0;
}

/* The authority's bounds: after "://", up to the path or the query. */
static void
authority(const char *url, const char **b, const char **e)
{
	*b = strstr(url, "://") + 3;
	*e = *b + strcspn(*b, "/?#");
}

/* Where the password starts and ends in url, or 0 when there is none. */
static int
findpass(const char *url, const char **pb, const char **pe)
{
	const char *b, *e, *at = NULL, *colon;

	authority(url, &b, &e);
	for (const char *p = b; p < e; p++)
		if (*p == '@')
			at = p;
	if (!at || !(colon = memchr(b, ':', (size_t)(at - b))))
		return 0;
	*pb = colon + 1;
	*pe = at;
	return 1;
}

char *
ev_amqp_redact(const char *url)
{
	const char *pb, *pe;
	struct ev_buf b = { 0 };

	if (!ev_amqp_is(url) || !findpass(url, &pb, &pe))
		return ev_strdup(url);
	ev_buf_add(&b, url, (size_t)(pb - url));
	ev_buf_adds(&b, "****");
	ev_buf_adds(&b, pe);
	return b.p;
}

static int
readpassfile(const char *path, struct ev_amqp_conf *c, struct ev_buf *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		ev_buf_printf(err, "EVKIT_AMQP_PASSWORD_FILE: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		ev_buf_printf(err, "EVKIT_AMQP_PASSWORD_FILE: %s is empty", path);
		return -1;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	c->password = line;
	return 0;
}

/* The password: the environment's, else the URL's when allowed, else guest's. */
static int
password(const char *url, const char *urlpass, struct ev_amqp_conf *c, struct ev_buf *err)
{
	const char *env = getenv("EVKIT_AMQP_PASSWORD");
	const char *file = getenv("EVKIT_AMQP_PASSWORD_FILE");
	const char *allow = getenv("EVKIT_AMQP_ALLOW_URL_PASSWORD");
	const char *pb, *pe;

	if (findpass(url, &pb, &pe)) {
		if (!allow || strcmp(allow, "1") != 0) {
			ev_buf_adds(err, "a password in the location shows in ps(1) and in logs: "
			    "put it in EVKIT_AMQP_PASSWORD or in a file named by "
			    "EVKIT_AMQP_PASSWORD_FILE (or set EVKIT_AMQP_ALLOW_URL_PASSWORD=1 "
			    "to accept the risk)");
			return -1;
		}
		c->password = ev_strdup(urlpass);
		return 0;
	}
	if (env && *env) {
		c->password = ev_strdup(env);
		return 0;
	}
	if (file && *file)
		return readpassfile(file, c, err);
	if (strcmp(c->user, "guest") != 0) {
		ev_buf_printf(err, "no password for user '%s': set EVKIT_AMQP_PASSWORD or "
		    "EVKIT_AMQP_PASSWORD_FILE", c->user);
		return -1;
	}
	c->password = ev_strdup("guest");
	return 0;
}

enum { P_SRC = 1, P_SINK = 2, P_BOTH = 3, P_TLS = 4 };

static const struct param {
	const char *name;
	int where;
} params[] = {
	{ "binding_key", P_BOTH }, { "cacertfile", P_BOTH | P_TLS },
	{ "certfile", P_BOTH | P_TLS }, { "connect_timeout", P_BOTH }, { "declare", P_BOTH },
	{ "exchange", P_BOTH }, { "exchange_type", P_BOTH }, { "heartbeat", P_BOTH },
	{ "idle", P_SRC }, { "keyfile", P_BOTH | P_TLS }, { "mandatory", P_SINK },
	{ "max_priority", P_BOTH }, { "mode", P_SINK },
	{ "prefetch", P_SRC }, { "queue", P_BOTH }, { "queue_type", P_BOTH },
	{ "retry", P_BOTH }, { "routing_key", P_SINK }, { "routing_key_jq", P_SINK },
	{ "stream_offset", P_SRC }, { "verify", P_BOTH | P_TLS },
};

static int
boolval(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

static int
inlist(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(v, *list))
			return 1;
	return 0;
}

static int
streamoffset(const char *v, struct ev_amqp_conf *c)
{
	unsigned long n;

	if (!strcmp(v, "first"))
		c->offkind = EV_AMQP_OFF_FIRST;
	else if (!strcmp(v, "last"))
		c->offkind = EV_AMQP_OFF_LAST;
	else if (!strcmp(v, "next"))
		c->offkind = EV_AMQP_OFF_NEXT;
	else if (ev_params_uint(v, (unsigned long)INT64_MAX, &n) == 0) {
		c->offkind = EV_AMQP_OFF_NUM;
		c->offset = (int64_t)n;
	} else if (ev_when_parse(v, ev_now_ms(), &c->offset) == 0)
		c->offkind = EV_AMQP_OFF_TIME;
	else
		return -1;
	return 0;
}

/* Does name apply to this location (a known name, the right direction, TLS
 * when it needs it)? 0, or -1 with the reason in err. */
static int
applies(const struct ev_amqp_conf *c, const char *name, int sink, struct ev_buf *err)
{
	const struct param *p = NULL;

	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
		if (!strcmp(params[i].name, name))
			p = &params[i];
	if (!p) {
		ev_buf_printf(err, "unknown parameter '%s' (see ev-amqp(7))", name);
		return -1;
	}
	if (!(p->where & (sink ? P_SINK : P_SRC))) {
		ev_buf_printf(err, "'%s' applies to %s only", name,
		    sink ? "reading (an input)" : "publishing (an output)");
		return -1;
	}
	if ((p->where & P_TLS) && !c->tls) {
		ev_buf_printf(err, "'%s' needs an amqps:// location", name);
		return -1;
	}
	return 0;
}

/* Where a parameter that is a string goes, or NULL. */
static char **
strslot(struct ev_amqp_conf *c, const char *name)
{
	static const char *const names[] = { "exchange", "queue", "routing_key", "routing_key_jq",
		"cacertfile", "certfile", "keyfile", "exchange_type", "queue_type" };
	char **slots[] = { &c->exchange, &c->queue, &c->routing_key, &c->routing_key_jq,
		&c->cacertfile, &c->certfile, &c->keyfile, &c->exchange_type, &c->queue_type };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(name, names[i]))
			return slots[i];
	return NULL;
}

/* The string parameters that take one of a list of values. */
static int
listed(const char *name, const char *v, struct ev_buf *err)
{
	static const char *const xtypes[] = { "direct", "fanout", "topic", "headers", NULL };
	static const char *const qtypes[] = { "classic", "quorum", "stream", NULL };

	if (!strcmp(name, "exchange_type") && !inlist(v, xtypes) && strncmp(v, "x-", 2) != 0) {
		ev_buf_printf(err, "exchange_type '%s' is not direct, fanout, topic or headers", v);
		return -1;
	}
	if (!strcmp(name, "queue_type") && !inlist(v, qtypes)) {
		ev_buf_printf(err, "queue_type '%s' is not classic, quorum or stream", v);
		return -1;
	}
	return 0;
}

/* A parameter whose value is a flag, a choice, a number or a duration. */
static int
valueparam(struct ev_amqp_conf *c, const char *name, const char *v, struct ev_buf *err)
{
	unsigned long n;

	if (!strcmp(name, "declare") || !strcmp(name, "mandatory")) {
		if (boolval(v, !strcmp(name, "declare") ? &c->declare : &c->mandatory) < 0)
			return ev_buf_printf(err, "%s '%s' is not 1 or 0", name, v), -1;
	} else if (!strcmp(name, "verify")) {
		return ev_params_verify(v, &c->verify, err);
	} else if (!strcmp(name, "mode")) {
		if (strcmp(v, "binary") && strcmp(v, "structured"))
			return ev_buf_printf(err, "mode '%s' is not binary or structured", v), -1;
		c->binary = !strcmp(v, "binary");
	} else if (!strcmp(name, "max_priority")) {
		if (ev_params_uint(v, 255, &n) < 0 || n == 0)
			return ev_buf_printf(err, "max_priority '%s' is not a priority from 1 to 255",
			    v), -1;
		c->max_priority = (unsigned)n;
	} else if (!strcmp(name, "prefetch")) {
		if (ev_params_uint(v, 65535, &n) < 0 || n == 0)
			return ev_buf_printf(err, "prefetch '%s' is not a count from 1 to 65535", v), -1;
		c->prefetch = (unsigned)n;
	} else if (!strcmp(name, "heartbeat")) {
		if (ev_params_uint(v, 3600, &n) < 0)
			return ev_buf_printf(err, "heartbeat '%s' is not a number of seconds up to 3600",
			    v), -1;
		c->heartbeat = (int)n;
	} else if (!strcmp(name, "connect_timeout") || !strcmp(name, "retry") || !strcmp(name, "idle")) {
		int64_t *d = name[0] == 'c' ? &c->connect_ms : name[0] == 'r' ? &c->retry_ms : &c->idle_ms;
		return ev_params_duration(name, v, name[0] == 'c', d, err);
	} else if (!strcmp(name, "stream_offset") && streamoffset(v, c) < 0) {
		ev_buf_printf(err, "stream_offset '%s' is not first, last, next, an offset "
		    "or a time (RFC 3339, or a duration ago)", v);
		return -1;
	}
	return 0;
}

struct query {
	struct ev_amqp_conf *c;
	int sink;
};

/* One name=value from the query (ev_param_fn). */
static int
setparam(void *arg, const char *name, char *v, struct ev_buf *err)
{
	struct query *q = arg;
	struct ev_amqp_conf *c = q->c;
	char **slot;

	if (applies(c, name, q->sink, err) < 0)
		goto bad;
	if (!strcmp(name, "binding_key")) {
		c->bindings = ev_reallocarray(c->bindings, c->nbindings + 1, sizeof *c->bindings);
		c->bindings[c->nbindings++] = v;
		return 0;
	}
	if ((slot = strslot(c, name))) {
		if (listed(name, v, err) < 0)
			goto bad;
		return ev_params_once(slot, name, v, err);
	}
	if (valueparam(c, name, v, err) < 0)
		goto bad;
	free(v);
	return 0;
bad:
	free(v);
	return -1;
}

/* What the parameters say together. */
static int
coherent(struct ev_amqp_conf *c, int sink, struct ev_buf *err)
{
	if (!sink && !c->queue) {
		ev_buf_adds(err, "reading needs a queue (?queue=NAME)");
		return -1;
	}
	const char *names[] = { c->exchange, c->queue, c->routing_key };
	for (size_t i = 0; i < 3; i++)
		if (names[i] && strlen(names[i]) > 255) {
			ev_buf_printf(err, "'%.20s...' is longer than 255 bytes", names[i]);
			return -1;
		}
	for (size_t i = 0; i < c->nbindings; i++)
		if (strlen(c->bindings[i]) > 255) {
			ev_buf_printf(err, "'%.20s...' is longer than 255 bytes", c->bindings[i]);
			return -1;
		}
	if (c->routing_key && c->routing_key_jq) {
		ev_buf_adds(err, "routing_key and routing_key_jq exclude each other");
		return -1;
	}
	if ((c->nbindings || c->exchange_type || c->queue_type || c->max_priority) && !c->declare) {
		ev_buf_printf(err, "'%s' needs declare=1", c->nbindings ? "binding_key" :
		    c->exchange_type ? "exchange_type" : c->queue_type ? "queue_type" : "max_priority");
		return -1;
	}
	if (c->max_priority && !c->queue) {
		ev_buf_adds(err, "max_priority needs a queue to declare");
		return -1;
	}
	if (c->nbindings && !(c->exchange && *c->exchange && c->queue)) {
		ev_buf_adds(err, "binding_key needs an exchange and a queue");
		return -1;
	}
	if (c->offkind != EV_AMQP_OFF_NONE && c->queue_type && strcmp(c->queue_type, "stream")) {
		ev_buf_adds(err, "stream_offset needs a stream queue");
		return -1;
	}
	if ((c->certfile != NULL) != (c->keyfile != NULL)) {
		ev_buf_adds(err, "certfile and keyfile go together");
		return -1;
	}
	if (c->declare && c->exchange && *c->exchange && c->queue && !c->nbindings) {
		c->bindings = ev_malloc(sizeof *c->bindings);
		c->bindings[c->nbindings++] = ev_strdup("#");
	}
	if (!c->exchange_type)
		c->exchange_type = ev_strdup("topic");
	if (!c->exchange)
		c->exchange = ev_strdup("");
	return 0;
}

int
ev_amqp_parse(const char *url, int sink, struct ev_amqp_conf *c, struct ev_buf *err)
{
	struct amqp_connection_info ci;
	const char *q;
	char *base;
	int r;

	memset(c, 0, sizeof *c);
	c->name = ev_amqp_redact(url);
	c->mandatory = 1;
	c->verify = 1;
	c->prefetch = 1000;
	c->heartbeat = 60;
	c->connect_ms = 10000;
	c->retry_ms = 60000;
	c->idle_ms = 1000;
	ev_buf_reset(err);
	if (!ev_amqp_is(url)) {
		ev_buf_adds(err, "not an amqp:// or amqps:// location");
		return -1;
	}
	q = url + strcspn(url, "?#");
	if (*q == '#') {
		ev_buf_adds(err, "a fragment (#) means nothing here");
		return -1;
	}
	/* librabbitmq parses the part before the query; it wants a lowercase scheme. */
	base = ev_strndup(url, (size_t)(q - url));
	for (char *p = base; *p != ':'; p++)
		*p = (char)tolower((unsigned char)*p);
	r = amqp_parse_url(base, &ci);
	if (r != AMQP_STATUS_OK) {
		ev_buf_adds(err, "not a broker URL: amqp[s]://[user@]host[:port][/vhost][?name=value&...]");
		free(base);
		return -1;
	}
	c->host = ev_strdup(ci.host);
	c->user = ev_strdup(ci.user);
	c->vhost = ev_strdup(*ci.vhost ? ci.vhost : "/");
	c->port = ci.port;
	c->tls = ci.ssl;
	r = password(url, ci.password, c, err);
	free(base);
	if (r < 0)
		return -1;
	struct query qa = { c, sink };
	if (*q == '?' && ev_params_each(q + 1, setparam, &qa, err) < 0)
		return -1;
	return coherent(c, sink, err);
}

void
ev_amqp_conf_free(struct ev_amqp_conf *c)
{
	char **strs[] = { &c->name, &c->host, &c->user, &c->vhost, &c->password, &c->exchange,
		&c->exchange_type, &c->queue, &c->queue_type, &c->routing_key, &c->routing_key_jq,
		&c->cacertfile, &c->certfile, &c->keyfile };

	if (c->password)
		memset(c->password, 0, strlen(c->password));
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < c->nbindings; i++)
		free(c->bindings[i]);
	free(c->bindings);
	c->bindings = NULL;
	c->nbindings = 0;
}
