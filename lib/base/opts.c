/* SPDX-License-Identifier: ISC */
/* opts.c — the shared options, so that the same letter means the same thing in every tool. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/opts.h"
#include "base/size.h"
#include "sign/sign.h"
#include "trace/trace.h"

size_t ev_max_event = EV_MAX_EVENT_DEFAULT;

void
ev_opts_init(struct ev_opts *o, const char *synopsis)
{
	memset(o, 0, sizeof *o);
	o->follow = -1;
	o->sync = EV_SYNC_AUTO;
	o->synopsis = synopsis;
}

void
ev_opts_doc(struct ev_opts *o, const char *about, const struct option *longopts,
    const struct ev_optdoc *docs)
{
	o->about = about;
	o->longopts = longopts;
	o->docs = docs;
}

/* What the shared options mean, unless a tool says otherwise. */
static const struct ev_optdoc common_docs[] = {
	{ "input", "src", "read events from src (default: operands, else stdin)" },
	{ "output", "dest", "write events to dest (default: stdout)" },
	{ "cursor", "name", "read a spool input through this durable cursor" },
	{ "max-event-size", "size", "the longest event read, in bytes (default 16M)" },
	{ "no-follow", NULL, "stop at the end of a spool input instead of waiting" },
	{ "rejects", "dest", "keep bad input lines, verbatim, in dest" },
	{ "sync", "mode", "output durability: none, batch (default) or always" },
	{ "stats", "[=json]", "print counts to stderr on exit (json: as JSON)" },
	{ "quiet", NULL, "no per-line diagnostics" },
	{ "help", NULL, "print this help and exit" },
	{ "version", NULL, "print the version and exit" },
	{ "wait", NULL, "wait for a cursor in use (else exit 75)" },
	{ "group", "name", "read a spool as a member of this consumer group" },
	{ "max-deliveries", "n", "dead-letter an event after n deliveries" },
	{ "dead", "dest", "write events past --max-deliveries to dest" },
	{ "sign-key", "file", "sign the events written with the key in file" },
	{ "otlp", "dest", "write spans as OTLP/JSON to dest, a file or a URL" },
	{ "prometheus", "file", "keep counts and rates in file for Prometheus" },
	{ "verify-keys", "dir", "take only events signed by a key in dir" },
	{ "hold", NULL, "keep each event until its evnotbefore time" },
	{ "expired", "[=dest]", "drop events past their expirytime (or keep in dest)" },
	{ "priority", NULL, "several spool inputs: the earliest with events first" },
	{ NULL, NULL, NULL }
};

static const struct ev_optdoc *
finddoc(const struct ev_optdoc *docs, const char *name)
{
	for (; docs && docs->name; docs++)
		if (strcmp(docs->name, name) == 0)
			return docs;
	return NULL;
}

/* "-c, --count", "    --cursor name", "    --stats[=json]" */
static int
optlabel(char *buf, size_t size, const struct option *lo, const struct ev_optdoc *d)
{
	int shortc = lo->flag == NULL && lo->val > ' ' && lo->val < 127 ? lo->val : 0;
	const char *arg = d && d->arg ? d->arg : lo->has_arg == no_argument ? NULL : "arg";

	return snprintf(buf, size, "%c%c%c --%s%s%s", shortc ? '-' : ' ', shortc ? shortc : ' ',
	    shortc ? ',' : ' ', lo->name, arg && *arg != '[' ? " " : "", arg ? arg : "");
}

/* One form of the synopsis, wrapped at 80 columns between its words, a
 * bracketed group counting as one word (as BSD usage messages wrap). */
/* "  label    doc", or the doc on a line of its own under a long label. */
static void
helpline(const char *label, int width, const char *doc)
{
	if ((int)strlen(label) > width)
		printf("  %s\n  %*s  %s\n", label, width, "", doc);
	else
		printf("  %-*s  %s\n", width, label, doc);
}

static void
printform(FILE *f, const char *lead, const char *p, size_t n)
{
	int indent = fprintf(f, "%s %s", lead, ev_prog()), col = indent;

	while (n > 0) {
		size_t k = 0;
		int depth = 0;
		while (k < n && (p[k] != ' ' || depth > 0)) {
			depth += p[k] == '[' ? 1 : p[k] == ']' && depth > 0 ? -1 : 0;
			k++;
		}
		if (k > 0) {
			if (col > indent && col + 1 + (int)k > 80)
				col = fprintf(f, "\n%*s", indent, "") - 1;
			col += fprintf(f, " %.*s", (int)k, p);
		}
		k += k < n;
		p += k;
		n -= k;
	}
	fputc('\n', f);
}

static void
printusage(FILE *f, const char *synopsis)
{
	const char *p = synopsis;
	int first = 1;

	/* The synopsis may hold several forms, one per line. */
	while (*p) {
		size_t n = strcspn(p, "\n");
		printform(f, first ? "usage:" : "      ", p, n);
		first = 0;
		p += n + (p[n] == '\n');
	}
}

_Noreturn void
ev_help(const struct ev_opts *o)
{
	char label[128];
	int width = 0;

	printusage(stdout, o->synopsis);
	if (o->about)
		printf("%s\n", o->about);
	if (o->longopts) {
		fputs("\nOptions:\n", stdout);
		for (int pass = 0; pass < 2; pass++) {
			/* short-only options first (their docs are named "-F"), then the table */
			for (const struct ev_optdoc *d = o->docs; d && d->name; d++) {
				if (d->name[0] != '-')
					continue;
				int n = snprintf(label, sizeof label, "%s%s%s", d->name,
				    d->arg ? " " : "", d->arg ? d->arg : "");
				if (pass == 0 && n > width && n <= 24)
					width = n;
				if (pass == 1)
					helpline(label, width, d->doc);
			}
			for (const struct option *lo = o->longopts; lo->name; lo++) {
				const struct ev_optdoc *d = finddoc(o->docs, lo->name);
				if (!d)
					d = finddoc(common_docs, lo->name);
				int n = optlabel(label, sizeof label, lo, d);
				if (pass == 0 && n > width && n <= 24)
					width = n;
				if (pass == 1)
					helpline(label, width, d ? d->doc : "");
			}
		}
	}
	printf("\nSee %s(1).\n", ev_prog());
	if (fflush(stdout) == EOF || ferror(stdout))
		ev_die(EV_ERROR, "stdout: %s", strerror(errno));
	exit(0);
}

_Noreturn void
ev_usage(const char *synopsis, int help)
{
	FILE *f = help ? stdout : stderr;

	printusage(f, synopsis);
	if (help)
		fprintf(f, "See %s(1).\n", ev_prog());
	exit(help ? 0 : EV_ERROR);
}

/* A bad option value: reported; the main exits 2. */
static int
badvalue(const char *fmt, const char *arg)
{
	ev_warn(fmt, arg);
	return -1;
}

/* -i, once an input. */
static int
addinput(struct ev_opts *o, const char *arg)
{
	if (o->ninputs == EV_MAX_INPUTS) {
		ev_warn("-i %s: at most %d inputs", arg, EV_MAX_INPUTS);
		return -1;
	}
	if (!o->input)
		o->input = arg;
	o->inputs[o->ninputs++] = arg;
	return 1;
}

static int
maxdeliveries(struct ev_opts *o, const char *arg)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] < '0' || arg[0] > '9' || n < 1 || n > 1000000)
		return badvalue("--max-deliveries: '%s' is not a number from 1 to 1000000", arg);
	o->max_deliveries = (uint32_t)n;
	return 1;
}

static int
signkey(const char *arg)
{
	ev_signer_free(ev_sign_default);
	if (!(ev_sign_default = ev_signer_load(arg)))
		return -1; /* reported */
	return 1;
}

static int
syncmode(struct ev_opts *o, const char *arg)
{
	if (strcmp(arg, "none") == 0)
		o->sync = EV_SYNC_NONE;
	else if (strcmp(arg, "batch") == 0)
		o->sync = EV_SYNC_BATCH;
	else if (strcmp(arg, "always") == 0)
		o->sync = EV_SYNC_ALWAYS;
	else
		return badvalue("--sync: '%s' is not none, batch or always", arg);
	return 1;
}

static int
maxevent(const char *arg)
{
	uint64_t max;

	if (ev_size_parse(arg, &max) < 0 || max == 0 || max > SIZE_MAX / 4)
		return badvalue("--max-event-size: '%s' is not a size (like 4096, 64M, 1G)", arg);
	ev_max_event = (size_t)max;
	return 1;
}

static int
statsfmt(struct ev_opts *o, const char *arg)
{
	if (!arg || strcmp(arg, "text") == 0)
		o->stats = EV_STATS_TEXT;
	else if (strcmp(arg, "json") == 0)
		o->stats = EV_STATS_JSON;
	else
		return badvalue("--stats: '%s' is not text or json", arg);
	return 1;
}

static _Noreturn void
version(void)
{
	printf("%s (evkit) %s\n", ev_prog(), EV_VERSION);
	exit(0);
}

int
ev_opts_common(struct ev_opts *o, int ch, const char *arg)
{
	/* Long: one line a shared option, each a field set or a helper above. */
	switch (ch) {
	case 'i': return addinput(o, arg);
	case EV_OPT_PRIORITY: o->priority = 1; return 1;
	case 'o': o->output = arg; return 1;
	case 'q': ev_quiet = 1; return 1;
	case 'h': ev_help(o);
	case 'V': version();
	case EV_OPT_CURSOR: o->cursor = arg; return 1;
	case EV_OPT_WAIT: o->wait = 1; return 1;
	case EV_OPT_GROUP: o->group = arg; return 1;
	case EV_OPT_MAX_DELIVERIES: return maxdeliveries(o, arg);
	case EV_OPT_DEAD: o->dead = arg; return 1;
	case EV_OPT_SIGN_KEY: return signkey(arg);
	case EV_OPT_OTLP: return ev_otlp_setup(arg) < 0 ? -1 : 1;
	case EV_OPT_PROMETHEUS: o->prometheus = arg; return 1;
	case EV_OPT_VERIFY_KEYS: o->verify_keys = arg; return 1;
	case EV_OPT_HOLD: o->hold = 1; return 1;
	case EV_OPT_EXPIRED: o->expire = 1, o->expired = arg; return 1;
	case EV_OPT_NO_FOLLOW: o->follow = 0; return 1;
	case EV_OPT_REJECTS: o->rejects = arg; return 1;
	case EV_OPT_SYNC: return syncmode(o, arg);
	case EV_OPT_MAX_EVENT: return maxevent(arg);
	case EV_OPT_STATS: return statsfmt(o, arg);
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

int
ev_opt_size(const char *s, const char *what, uint64_t *v)
{
	if (ev_size_parse(s, v) < 0) {
		ev_warn("--%s: '%s' is not a size (like 4096, 64M, 1G)", what, s);
		return -1;
	}
	return 0;
}

int
ev_opt_count(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	char *end;
	uintmax_t n;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoumax(s, &end, 10);
	if (errno || *end || n < min || n > max)
		return -1;
	*v = n;
	return 0;
}

void
ev_stats_line(char *buf, size_t size, const struct ev_stat *s, size_t n)
{
	size_t len = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		int k = snprintf(buf + len, size - len, "%s%s %ju", i ? ", " : "", s[i].name, s[i].n);
		if (k < 0)
			break;
		len += (size_t)k;
	}
}
