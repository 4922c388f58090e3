/* SPDX-License-Identifier: ISC */
/* opts.c — the shared options, so that the same letter means the same thing in every tool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/opts.h"

void
ev_opts_init(struct ev_opts *o, const char *synopsis)
{
	memset(o, 0, sizeof *o);
	o->follow = -1;
	o->sync = EV_SYNC_AUTO;
	o->synopsis = synopsis;
}

_Noreturn void
ev_usage(const char *synopsis, int help)
{
	FILE *f = help ? stdout : stderr;
	const char *p = synopsis;
	int first = 1;

	/* The synopsis may hold several forms, one per line. */
	while (*p) {
		size_t n = strcspn(p, "\n");
		fprintf(f, "%s %s %.*s\n", first ? "usage:" : "      ", ev_prog(), (int)n, p);
		first = 0;
		p += n + (p[n] == '\n');
	}
	if (help)
		fprintf(f, "See %s(1).\n", ev_prog());
	exit(help ? 0 : EV_ERROR);
}

int
ev_opts_common(struct ev_opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'i':
		o->input = arg;
		return 1;
	case 'o':
		o->output = arg;
		return 1;
	case 'q':
		ev_quiet = 1;
		return 1;
	case 'h':
		ev_usage(o->synopsis, 1);
	case 'V':
		printf("%s (evkit) %s\n", ev_prog(), EV_VERSION);
		exit(0);
	case EV_OPT_CURSOR:
		o->cursor = arg;
		return 1;
	case EV_OPT_WAIT:
		o->wait = 1;
		return 1;
	case EV_OPT_GROUP:
		o->group = arg;
		return 1;
	case EV_OPT_MAX_DELIVERIES: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] < '0' || arg[0] > '9' || n < 1 ||
		    n > 1000000)
			ev_die(EV_ERROR, "--max-deliveries: '%s' is not a number from 1 to 1000000",
			    arg);
		o->max_deliveries = (uint32_t)n;
		return 1;
	}
	case EV_OPT_DEAD:
		o->dead = arg;
		return 1;
	case EV_OPT_NO_FOLLOW:
		o->follow = 0;
		return 1;
	case EV_OPT_REJECTS:
		o->rejects = arg;
		return 1;
	case EV_OPT_SYNC:
		if (strcmp(arg, "none") == 0)
			o->sync = EV_SYNC_NONE;
		else if (strcmp(arg, "batch") == 0)
			o->sync = EV_SYNC_BATCH;
		else if (strcmp(arg, "always") == 0)
			o->sync = EV_SYNC_ALWAYS;
		else
			ev_die(EV_ERROR, "--sync: '%s' is not none, batch or always", arg);
		return 1;
	case EV_OPT_STATS:
		if (!arg || strcmp(arg, "text") == 0)
			o->stats = EV_STATS_TEXT;
		else if (strcmp(arg, "json") == 0)
			o->stats = EV_STATS_JSON;
		else
			ev_die(EV_ERROR, "--stats: '%s' is not text or json", arg);
		return 1;
	}
	return 0;
}

void
ev_stats_print(enum ev_statsfmt fmt, const struct ev_stat *s, size_t n)
{
	if (fmt == EV_STATS_NONE)
		return;
	fflush(stdout);
	if (fmt == EV_STATS_JSON) {
		fputc('{', stderr);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s\"%s\":%ju", i ? "," : "", s[i].name, s[i].n);
		fputs("}\n", stderr);
		return;
	}
	fprintf(stderr, "%s:", ev_prog());
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s %s %ju", i ? "," : "", s[i].name, s[i].n);
	fputc('\n', stderr);
}
