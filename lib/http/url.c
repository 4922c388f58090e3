/* SPDX-License-Identifier: ISC */
/* url.c — parse an HTTP location and find its secrets (see url.h). */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "base/params.h"
#include "base/time.h"
#include "http/url.h"

int
ev_http_is(const char *loc)
{
	return strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0;
}

/* The first line of a file, without its line end; NULL after saying why in err. */
static char *
firstline(const char *what, const char *path, struct ev_buf *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		ev_buf_printf(err, "%s: cannot open %s: %s", what, path, strerror(errno));
		return NULL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		free(line);
		ev_buf_printf(err, "%s: %s is empty", what, path);
		return NULL;
	}
	return line;
}

/* A bearer token from "env:NAME", "file:PATH" or a PATH; NULL after
 * saying why in err. */
static char *
token(const char *spec, struct ev_buf *err)
{
	const char *env;

	if (strncmp(spec, "env:", 4) == 0) {
		if (!(env = getenv(spec + 4)) || !*env) {
			ev_buf_printf(err, "token: %s is not set", spec + 4);
			return NULL;
		}
		return ev_strdup(env);
	}
	return firstline("token", strncmp(spec, "file:", 5) == 0 ? spec + 5 : spec, err);
}

struct files { char *token; int batchset; };

struct fragment {
	struct ev_http_conf *c;
	struct files *f;
};

/* Where a parameter that is a string goes, or NULL. */
static char **
strslot(struct ev_http_conf *c, struct files *f, const char *name)
{
	static const char *const names[] = { "cacertfile", "certfile", "keyfile", "secret", "token" };
	char **slots[] = { &c->cacertfile, &c->certfile, &c->keyfile, &c->secret, &f->token };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(name, names[i]))
			return slots[i];
	return NULL;
}

/* A parameter whose value is a choice, a number or a duration. */
static int
valueparam(struct ev_http_conf *c, struct files *f, const char *name, const char *v,
    struct ev_buf *err)
{
	unsigned long n;

	if (!strcmp(name, "mode")) {
		if (!strcmp(v, "structured"))
			c->mode = EV_HTTP_STRUCTURED;
		else if (!strcmp(v, "binary"))
			c->mode = EV_HTTP_BINARY;
		else if (!strcmp(v, "batch"))
			c->mode = EV_HTTP_BATCH;
		else
			return ev_buf_printf(err, "mode '%s' is not structured, binary or batch", v), -1;
	} else if (!strcmp(name, "batch_size")) {
		if (ev_params_uint(v, 100000, &n) < 0 || n == 0)
			return ev_buf_printf(err, "batch_size '%s' is not a count from 1 to 100000",
			    v), -1;
		c->batch_size = (unsigned)n;
		f->batchset = 1;
	} else if (!strcmp(name, "parallel")) {
		if (ev_params_uint(v, EV_HTTP_MAXPARALLEL, &n) < 0 || n == 0)
			return ev_buf_printf(err, "parallel '%s' is not a count from 1 to %d", v,
			    EV_HTTP_MAXPARALLEL), -1;
		c->parallel = (unsigned)n;
	} else if (!strcmp(name, "verify")) {
		return ev_params_verify(v, &c->verify, err);
	} else if (!strcmp(name, "retry") || !strcmp(name, "timeout") ||
	    !strcmp(name, "connect_timeout")) {
		int64_t *d = name[0] == 'r' ? &c->retry_ms : name[0] == 't' ? &c->timeout_ms :
		    &c->connect_ms;
		return ev_params_duration(name, v, name[0] != 'r', d, err);
	} else {
		return ev_buf_printf(err, "unknown parameter '%s' (see ev-http(7))", name), -1;
	}
	return 0;
}

/* One name=value from the fragment (ev_param_fn). */
static int
setparam(void *arg, const char *name, char *v, struct ev_buf *err)
{
	static const char *const tlsonly[] = { "cacertfile", "certfile", "keyfile", "verify", NULL };
	struct fragment *fr = arg;
	char **slot;

	for (const char *const *t = tlsonly; *t; t++)
		if (!strcmp(name, *t) && !fr->c->tls) {
			ev_buf_printf(err, "'%s' needs an https:// location", name);
			goto bad;
		}
	if ((slot = strslot(fr->c, fr->f, name)))
		return ev_params_once(slot, name, v, err);
	if (valueparam(fr->c, fr->f, name, v, err) < 0)
		goto bad;
	free(v);
	return 0;
bad:
	free(v);
	return -1;
}

/* Let libcurl read the endpoint's URL: a scheme, a host, no password. */
static int
checkurl(const char *url, struct ev_buf *err)
{
	CURLU *u = curl_url();
	char *host = NULL, *pass = NULL;
	CURLUcode rc;
	int r = -1;

	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK)
		ev_buf_printf(err, "not an HTTP URL (%s): http[s]://host[:port][/path][?query]"
		    "[#name=value&...]", curl_url_strerror(rc));
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		ev_buf_adds(err, "no host in the URL");
	else if (curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK)
		ev_buf_adds(err, "a password in the location shows in ps(1) and in logs: "
		    "give a bearer token (token=env:NAME or token=file:PATH) "
		    "or sign with a secret (secret=env:NAME or secret=file:PATH)");
	else
		r = 0;
	curl_free(host);
	curl_free(pass);
	curl_url_cleanup(u);
	return r;
}

int
ev_http_parse(const char *loc, struct ev_http_conf *c, struct ev_buf *err)
{
	struct files f = { 0 };
	const char *hash;
	int r = -1;

	memset(c, 0, sizeof *c);
	ev_buf_reset(err);
	c->name = ev_strdup(loc);
	c->mode = EV_HTTP_STRUCTURED;
	c->batch_size = 100;
	c->parallel = 1;
	c->retry_ms = 60000;
	c->timeout_ms = 30000;
	c->connect_ms = 10000;
	c->verify = 1;
	if (!ev_http_is(loc)) {
		ev_buf_adds(err, "not an http:// or https:// location");
		return -1;
	}
	c->tls = tolower((unsigned char)loc[4]) == 's';
	hash = loc + strcspn(loc, "#");
	c->url = ev_strndup(loc, (size_t)(hash - loc));
	if (checkurl(c->url, err) < 0)
		return -1;
	struct fragment fr = { c, &f };
	if (*hash == '#' && ev_params_each(hash + 1, setparam, &fr, err) < 0)
		goto out;
	if ((c->certfile != NULL) != (c->keyfile != NULL)) {
		ev_buf_adds(err, "certfile and keyfile go together");
		goto out;
	}
	if (f.batchset && c->mode != EV_HTTP_BATCH) {
		ev_buf_adds(err, "batch_size needs mode=batch");
		goto out;
	}
	if (f.token && !(c->token = token(f.token, err)))
		goto out;
	r = 0;
out:
	free(f.token);
	return r;
}

void
ev_http_conf_free(struct ev_http_conf *c)
{
	char **strs[] = { &c->name, &c->url, &c->secret, &c->token, &c->cacertfile,
		&c->certfile, &c->keyfile };

	if (c->token)
		memset(c->token, 0, strlen(c->token));
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}
