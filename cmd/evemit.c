/* SPDX-License-Identifier: ISC */
/* evemit — make CloudEvents 1.0 events: from arguments, from input lines
 * (each the data of one event, or an event to complete), or from CSV rows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "event/csvin.h"
#include "base/time.h"
#include "base/err.h"
#include "event/event.h"
#include "io/input.h"
#include "json/jsonscan.h"
#include "io/loc.h"
#include "json/obj.h"
#include "base/opts.h"
#include "tool.h"

#define ENVOPTS "[-s source] [-t time] [-x name=value] [--datacontenttype type] " \
	"[--dataschema uri] [--subject subject]"
#define INOPTS "[-i src] [--cursor name] [--max-event-size size] [--no-follow] [--rejects dest] [--stats[=json]]"
#define SYNOPSIS "[-q] [-o dest] [--id id] " ENVOPTS " type [field ...]\n" \
	"-l | --csv [-q] [-o dest] " INOPTS " [--sync mode] " ENVOPTS " type\n" \
	"-f [-q] [-o dest] " INOPTS " [--sync mode] " ENVOPTS " [type]"

#define MAXEXT 32

enum { OPT_CSV = EV_OPT_TOOL, OPT_DATACONTENTTYPE, OPT_DATASCHEMA, OPT_ID, OPT_SUBJECT };
enum mode { ARGS, LINES, FILL, CSV };

static struct ev_attr ext[MAXEXT];
static struct ev_buf extbuf[MAXEXT];

static const struct ev_optdoc docs[] = {
	{ "fill", NULL, "complete the events read from the input" },
	{ "lines", NULL, "make an event of each input line, its data" },
	{ "source", "source", "the source attribute (default $EVKIT_SOURCE)" },
	{ "time", "time", "the time attribute: RFC 3339, or a duration ago" },
	{ "ext", "name=value", "an extension attribute (name:=json for JSON)" },
	{ "csv", NULL, "make an event of each CSV row" },
	{ "datacontenttype", "type", "the datacontenttype attribute" },
	{ "dataschema", "uri", "the dataschema attribute" },
	{ "id", "id", "the id attribute, instead of a new UUIDv7" },
	{ "subject", "subject", "the subject attribute" },
	{ "output", "dest", "append the events to dest (default stdout)" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

/* -x name=value (a string) or -x name:=json (a string, number or boolean). */
static void
addext(struct ev_envelope *e, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct ev_buf *b = &extbuf[e->next];
	int json = eq && eq > arg && eq[-1] == ':';
	char *name;

	if (!eq)
		ev_die(EV_ERROR, "-x %s: not name=value or name:=json", arg);
	if (e->next == MAXEXT)
		ev_die(EV_ERROR, "-x %s: at most %d extension attributes", arg, MAXEXT);
	/* kept where a diagnostic's exit still sees it */
	ext[e->next].name = name = ev_strndup(arg, (size_t)(eq - arg - json));
	if (ev_event_extname(name, b) < 0)
		ev_die(EV_ERROR, "-x %s", b->p);
	for (size_t i = 0; i < e->next; i++)
		if (strcmp(ext[i].name, name) == 0)
			ev_die(EV_ERROR, "-x %s: given twice", name);
	ev_buf_reset(b);
	if (json) {
		const char *v = eq + 1 + strspn(eq + 1, " \t\r\n");
		struct ev_jerr jerr;
		if (ev_json_valid(v, strlen(v), &jerr) < 0)
			ev_die(EV_ERROR, "-x %s: not a JSON value: column %zu: %s", arg,
			    (size_t)(v - (eq + 1)) + jerr.off + 1, jerr.msg);
		if (!strchr("\"-0123456789tf", *v))
			ev_die(EV_ERROR, "-x %s: an attribute is a string, a number or a boolean", arg);
		size_t n = strlen(v);
		while (n > 0 && strchr(" \t\r\n", v[n - 1]))
			n--;
		ev_buf_reset(b);
		ev_buf_add(b, v, n);
	} else {
		ev_buf_addjstr(b, eq + 1, strlen(eq + 1));
	}
	ext[e->next].json = b->p;
	ext[e->next].len = b->len;
	e->next++;
}

/* EVKIT_SOURCE, else "//HOSTNAME/evemit": a URI reference naming this host. */
static const char *
defsource(void)
{
	static char buf[300];
	const char *env = getenv("EVKIT_SOURCE");
	char host[256];

	if (env && *env)
		return env;
	if (gethostname(host, sizeof host) < 0 || !*host)
		return "/evemit";
	host[sizeof host - 1] = '\0';
	snprintf(buf, sizeof buf, "//%s/evemit", host);
	return buf;
}

static const char *
nonempty(const char *opt, const char *arg)
{
	if (!*arg)
		ev_die(EV_ERROR, "--%s: an empty value", opt);
	return arg;
}

/* Events from input lines: each line is data, an event to fill, or CSV.
 * 0, or -1 when writing failed or the input cannot go on (reported, and
 * in->status says how bad). */
static int
readinput(struct ev_input *in, enum mode mode, const struct ev_envelope *e,
    struct ev_sink *sink, uintmax_t *made)
{
	struct ev_buf out = { 0 }, err = { 0 }, row = { 0 };
	struct ev_csvin *csv = NULL;
	struct ev_line l = { 0 }, bad;
	struct ev_jerr jerr;
	const char *why, *raw;
	size_t rawlen;
	int r, ret = -1;

	if (mode == CSV) {
		if (!(csv = ev_csvin_new()))
			ev_die(EV_ERROR, "--csv: this evemit was built without libcsv "
			    "(make CSV=no); build it with libcsv-dev installed");
		in->manual = 1; /* rows go out at the end: a cursor must not move before */
	}
	while ((r = ev_input_next(in, &l)) > 0) {
		ev_buf_reset(&out);
		switch (mode) {
		case CSV:
			r = ev_csvin_line(csv, l.p, l.len, &err, &raw, &rawlen);
			if (r < 0)
				goto badheader;
			if (r > 0) {
				bad = l;
				bad.p = raw;
				bad.len = rawlen;
				ev_input_reject(in, &bad, "%s", err.p);
			}
			continue;
		case FILL:
			if (ev_json_valid(l.p, l.len, &jerr) < 0) {
				ev_input_reject(in, &l, "column %zu: %s", jerr.off + 1, jerr.msg);
				continue;
			}
			if (ev_event_fill(&out, l.p, l.len, e, &why) < 0) {
				ev_input_reject(in, &l, "%s", why);
				continue;
			}
			break;
		default:
			if (ev_json_valid(l.p, l.len, &jerr) < 0) {
				ev_input_reject(in, &l, "column %zu: %s", jerr.off + 1, jerr.msg);
				continue;
			}
			ev_event_build(&out, e, l.p, l.len);
		}
		if (ev_sink_write(sink, out.p, out.len) < 0)
			goto fail;
		(*made)++;
	}
	if (r < 0)
		goto end; /* reported, and in->status says how bad */
	if (csv) {
		l.no = in->nlines;
		if ((r = ev_csvin_end(csv, &err, &raw, &rawlen)) != 0) {
			bad = l;
			bad.p = raw;
			bad.len = rawlen;
			if (r < 0)
				goto badheader;
			ev_input_reject(in, &bad, "%s", err.p);
		}
		for (size_t i = 0; i < ev_csvin_rows(csv); i++) {
			ev_buf_reset(&row);
			ev_csvin_row(csv, i, &row);
			ev_buf_reset(&out);
			ev_event_build(&out, e, row.p, row.len);
			if (ev_sink_write(sink, out.p, out.len) < 0)
				goto fail;
			(*made)++;
		}
	}
	ret = 0;
	goto end;
badheader:
	ev_warn("%s:%ju: the header: %s", in->name, l.no, err.p);
	ev_input_fail(in, EV_ERROR);
	goto end;
fail:
	ev_input_fail(in, ev_errstatus(errno));
end:
	ev_csvin_free(csv);
	ev_buf_free(&out);
	ev_buf_free(&err);
	ev_buf_free(&row);
	return ret;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "fill", no_argument, NULL, 'f' },
		{ "lines", no_argument, NULL, 'l' },
		{ "source", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "ext", required_argument, NULL, 'x' },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "datacontenttype", required_argument, NULL, OPT_DATACONTENTTYPE },
		{ "dataschema", required_argument, NULL, OPT_DATASCHEMA },
		{ "id", required_argument, NULL, OPT_ID },
		{ "subject", required_argument, NULL, OPT_SUBJECT },
		EV_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ev_envelope e = { .ext = ext };
	struct ev_opts o;
	struct ev_sink *sink;
	enum mode mode = ARGS;
	char timebuf[32];
	int64_t ms;
	int ch, modes = 0, r = 0;
	uintmax_t made = 0;

	ev_setprog(argv[0]);
	ev_opts_init(&o, SYNOPSIS);
	ev_opts_doc(&o, "Make CloudEvents 1.0 events: from arguments, input lines or CSV rows.", longopts, docs);
	while ((ch = getopt_long(argc, argv, "fls:t:x:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case 'f':
			mode = FILL, modes++;
			break;
		case 'l':
			mode = LINES, modes++;
			break;
		case 's':
			e.source = nonempty("source", optarg);
			break;
		case 't':
			if (ev_when_parse(optarg, ev_now_ms(), &ms) < 0)
				ev_die(EV_ERROR, "-t %s: not an RFC 3339 time or a duration ago",
				    optarg);
			ev_time_format(ms, timebuf);
			e.time = timebuf;
			break;
		case 'x':
			addext(&e, optarg);
			break;
		case OPT_CSV:
			mode = CSV, modes++;
			break;
		case OPT_DATACONTENTTYPE:
			e.datacontenttype = nonempty("datacontenttype", optarg);
			break;
		case OPT_DATASCHEMA:
			e.dataschema = nonempty("dataschema", optarg);
			break;
		case OPT_ID:
			e.id = nonempty("id", optarg);
			break;
		case OPT_SUBJECT:
			e.subject = nonempty("subject", optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (modes > 1)
		ev_die(EV_ERROR, "-f, -l and --csv exclude each other");
	if (mode == ARGS && o.input)
		mode = LINES;
	if (argc < (mode == FILL ? 0 : 1) || (mode == FILL && argc > 1))
		usage();
	if (mode != ARGS && argc > 1)
		ev_die(EV_ERROR, "%s: fields are for an event made from arguments; with -f, -l "
		    "or --csv the data comes from the input", argv[1]);
	if (mode != ARGS && e.id)
		ev_die(EV_ERROR, "--id names one event: not with -f, -l or --csv");
	if (argc > 0)
		e.type = nonempty("type", argv[0]);
	if (!e.source)
		e.source = defsource();

	if (mode == ARGS) {
		struct ev_obj *data = ev_obj_new();
		struct ev_buf err = { 0 }, json = { 0 }, out = { 0 };

		for (int i = 1; i < argc && !r; i++)
			if (ev_obj_field(data, argv[i], &err) < 0) {
				ev_warn("%s", err.p);
				r = EV_ERROR;
			}
		if (!r && !ev_obj_empty(data))
			ev_obj_dump(data, &json);
		if (!r && !(sink = ev_sink_open(o.output ? o.output : "-", o.sync)))
			r = ev_errstatus(errno);
		if (!r) {
			ev_event_build(&out, &e, json.p, json.len);
			if (ev_sink_write(sink, out.p, out.len) < 0)
				r = ev_errstatus(errno);
			if (ev_sink_close(sink) < 0 && !r)
				r = ev_errstatus(errno);
		}
		ev_obj_free(data);
		ev_buf_free(&err);
		ev_buf_free(&json);
		ev_buf_free(&out);
	} else {
		struct ev_input in;

		sink = tool_output(&o);
		tool_input(&in, &o, NULL, 0);
		ev_input_add_sink(&in, sink);
		readinput(&in, mode, &e, sink, &made);
		ev_input_end(&in);
		if (ev_sink_close(sink) < 0)
			ev_input_fail(&in, ev_errstatus(errno));
		r = in.status;
		ev_stats_print(o.stats, (struct ev_stat[]){
			{ "in", in.nlines }, { "made", made }, { "bad", in.nbad } }, 3);
	}
	for (size_t i = 0; i < e.next; i++) {
		free((char *)ext[i].name);
		ev_buf_free(&extbuf[i]);
	}
	return r;
}
