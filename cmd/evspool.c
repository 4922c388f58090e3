/* SPDX-License-Identifier: ISC */
/* evspool — create, inspect, check, expire spools, and manage their cursors. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/cursor.h"
#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/opts.h"
#include "base/prom.h"
#include "base/size.h"
#include "spool/group.h"
#include "spool/spool.h"
#include "io/loc.h"
#include "sign/sign.h"
#include "tool.h"

#define SYNOPSIS "init [-g group] [-m mode] [--retain-age dur] [--retain-bytes size] " \
	"[--segment-bytes size] spool\n" \
	"stat [--json | --prometheus] spool ...\n" \
	"check [--repair] spool ...\n" \
	"gc [--force] spool ...\n" \
	"cursor [--delete | --set where] spool [name ...]\n" \
	"verify --verify-keys dir spool ...\n" \
	"keygen file keyid [source ...]"

enum {
	OPT_DELETE = EV_OPT_TOOL, OPT_FORCE, OPT_JSON, OPT_PROM, OPT_REPAIR, OPT_RETAIN_AGE,
	OPT_RETAIN_BYTES, OPT_SEGMENT_BYTES, OPT_SET
};

static struct {
	const char *group, *set;
	int del, force, json, prom, repair;
	struct ev_spool_conf conf;
} opt;

static const struct ev_optdoc docs[] = {
	{ "group", "group", "(init) give the spool this group, setgid" },
	{ "mode", "mode", "(init) octal mode of the spool's files" },
	{ "delete", NULL, "(cursor) delete the named cursors" },
	{ "force", NULL, "(gc) also delete segments a cursor has not read" },
	{ "json", NULL, "(stat) one JSON object per spool" },
	{ "prometheus", NULL, "(stat) the Prometheus text format" },
	{ "repair", NULL, "(check) remove a torn tail" },
	{ "retain-age", "dur", "(init) delete segments older than dur" },
	{ "retain-bytes", "size", "(init) keep at most size bytes" },
	{ "segment-bytes", "size", "(init) start a new segment at this size" },
	{ "set", "where", "(cursor) set the named cursors: start, end or a time" },
	{ "stats", "[=json]", "(gc, verify) print the counts" },
	{ "verify-keys", "dir", "(verify) the public keys signatures are checked with" },
	{ "input", "src", "accepted as by every tool; no effect" },
	{ "output", "dest", "accepted as by every tool; no effect" },
	{ "cursor", "name", "accepted as by every tool; no effect" },
	{ "no-follow", NULL, "accepted as by every tool; no effect" },
	{ "rejects", "dest", "accepted as by every tool; no effect" },
	{ "sync", "mode", "accepted as by every tool; no effect" },
	{ NULL, NULL, NULL }
};

static void
usage(void)
{
	ev_usage(SYNOPSIS, 0);
}

static uint64_t
parse_size(const char *s, const char *what)
{
	uint64_t v;

	if (ev_size_parse(s, &v) < 0)
		ev_die(EV_ERROR, "--%s: '%s' is not a size (like 4096, 64M, 1G)", what, s);
	return v;
}

struct groups {
	struct ev_group_stat *g;
	size_t n;
};

static void
print_prom_groups(const struct groups *gs, char **paths, int n)
{
	static const struct { const char *name, *type, *help; } m[] = {
		{ "evkit_spool_group_lag_events", "gauge", "Events after a group's committed position: not finished yet." },
		{ "evkit_spool_group_lag_bytes", "gauge", "Bytes after a group's committed position." },
		{ "evkit_spool_group_members", "gauge", "Live members of a group." },
		{ "evkit_spool_group_claimed_events", "gauge", "Events claimed by live members, not finished yet." },
		{ "evkit_spool_group_pending_events", "gauge", "Events awaiting redelivery (their member died or left)." },
		{ "evkit_spool_group_redelivered_total", "counter", "Redeliveries of events, since the group began." },
		{ "evkit_spool_group_dead_total", "counter", "Events dead-lettered past the delivery limit." },
	};
	struct ev_prom p = { 0 };

	for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
		size_t at = ev_prom_begin(&p, m[k].name, m[k].type, m[k].help);
		for (int i = 0; i < n; i++)
			for (size_t j = 0; j < gs[i].n; j++) {
				const struct ev_group_stat *g = &gs[i].g[j];
				uint64_t v[] = { g->lag_events, g->lag_bytes, g->nmembers, g->claimed,
					g->pending, g->redelivered, g->dead };
				const char *lab[] = { "spool", paths[i], "group", g->name, NULL };
				ev_prom_count(&p, m[k].name, lab, v[k]);
			}
		ev_prom_end(&p, at);
	}
	if (p.b.len)
		fwrite(p.b.p, 1, p.b.len, stdout);
	ev_prom_free(&p);
}

static void
print_groups(const struct groups *gs)
{
	struct ev_buf b = { 0 };
	char t[32];

	for (size_t j = 0; j < gs->n; j++) {
		const struct ev_group_stat *g = &gs->g[j];
		if (opt.json) {
			ev_buf_adds(&b, j ? ",{\"name\":" : "{\"name\":");
			ev_buf_addjstr(&b, g->name, strlen(g->name));
			ev_buf_printf(&b, ",\"position\":%" PRIu64 ",\"lag_events\":%" PRIu64
			    ",\"lag_bytes\":%" PRIu64 ",\"claimed\":%" PRIu64 ",\"pending\":%" PRIu64
			    ",\"redelivered\":%" PRIu64 ",\"dead\":%" PRIu64 ",\"members\":[", g->low,
			    g->lag_events, g->lag_bytes, g->claimed, g->pending, g->redelivered,
			    g->dead);
			for (size_t m = 0; m < g->nmembers; m++) {
				ev_time_format(g->members[m].since_ms, t);
				ev_buf_printf(&b, "%s{\"pid\":%ld,\"since\":\"%s\"}", m ? "," : "",
				    (long)g->members[m].pid, t);
			}
			ev_buf_adds(&b, "]}");
			continue;
		}
		printf("group     %s at %" PRIu64 ": lag %" PRIu64 " events, %" PRIu64 " bytes; "
		    "%zu member%s, claimed %" PRIu64 ", pending %" PRIu64 ", redelivered %" PRIu64
		    ", dead %" PRIu64 "\n", g->name, g->low, g->lag_events, g->lag_bytes,
		    g->nmembers, g->nmembers == 1 ? "" : "s", g->claimed, g->pending,
		    g->redelivered, g->dead);
		for (size_t m = 0; m < g->nmembers; m++) {
			ev_time_format(g->members[m].since_ms, t);
			printf("member    %s: pid %ld since %s\n", g->name, (long)g->members[m].pid, t);
		}
	}
	if (opt.json)
		fputs(b.p ? b.p : "", stdout);
	ev_buf_free(&b);
}

/* The Prometheus text format: HELP and TYPE once per metric, all spools under it. */
static void
print_prom(struct ev_spool_stat *st, char **paths, int n)
{
	static const struct { const char *name, *help; } m[] = {
		{ "evkit_spool_events", "Complete events in the spool." },
		{ "evkit_spool_bytes", "Bytes of complete events in the spool." },
		{ "evkit_spool_segments", "Segment files in the spool." },
		{ "evkit_spool_torn_bytes", "Bytes of an unterminated tail (a writer died mid-write)." },
		{ "evkit_spool_first_event_timestamp_seconds", "Time of the oldest event." },
		{ "evkit_spool_last_event_timestamp_seconds", "Time of the newest event." },
		{ "evkit_spool_cursor_lag_events", "Events after a cursor: not yet read by its consumer." },
		{ "evkit_spool_cursor_lag_bytes", "Bytes after a cursor." },
	};
	struct ev_prom p = { 0 };

	for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
		size_t at = ev_prom_begin(&p, m[k].name, "gauge", m[k].help);
		for (int i = 0; i < n; i++) {
			double v[] = { (double)st[i].events, (double)st[i].bytes,
				(double)st[i].segments, (double)st[i].torn, st[i].first_ms / 1e3,
				st[i].last_ms / 1e3 };
			const char *lab[] = { "spool", paths[i], "cursor", NULL, NULL };
			if (k < 4 || (k < 6 && (k == 4 ? st[i].first_ms : st[i].last_ms) >= 0)) {
				lab[2] = NULL;
				ev_prom_gauge(&p, m[k].name, lab, v[k]);
				continue;
			}
			for (size_t c = 0; k >= 6 && c < st[i].ncursors; c++) {
				lab[3] = st[i].cursors[c].name;
				ev_prom_gauge(&p, m[k].name, lab, (double)(k == 6 ?
				    st[i].cursors[c].lag_events : st[i].cursors[c].lag_bytes));
			}
		}
		ev_prom_end(&p, at);
	}
	if (p.b.len)
		fwrite(p.b.p, 1, p.b.len, stdout);
	ev_prom_free(&p);
}

static void
print_stat(const char *path, const struct ev_spool_stat *st, const struct groups *gs)
{
	struct ev_buf b = { 0 };
	char t[32];

	if (opt.json) {
		ev_buf_adds(&b, "{\"spool\":");
		ev_buf_addjstr(&b, path, strlen(path));
		ev_buf_printf(&b, ",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"segments\":%"
		    PRIu64 ",\"start\":%" PRIu64 ",\"end\":%" PRIu64 ",\"torn\":%" PRIu64,
		    st->events, st->bytes, st->segments, st->start, st->end, st->torn);
		if (st->first_ms >= 0) {
			ev_time_format(st->first_ms, t);
			ev_buf_printf(&b, ",\"first_time\":\"%s\"", t);
			ev_time_format(st->last_ms, t);
			ev_buf_printf(&b, ",\"last_time\":\"%s\"", t);
		}
		ev_buf_adds(&b, ",\"cursors\":[");
		for (size_t i = 0; i < st->ncursors; i++) {
			const struct ev_spool_cursorstat *c = &st->cursors[i];
			ev_buf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
			ev_buf_addjstr(&b, c->name, strlen(c->name));
			ev_buf_printf(&b, ",\"position\":%" PRIu64 ",\"lag_events\":%" PRIu64
			    ",\"lag_bytes\":%" PRIu64 ",\"lost\":%s}", c->pos, c->lag_events,
			    c->lag_bytes, c->lost ? "true" : "false");
		}
		ev_buf_adds(&b, "],\"groups\":[");
		fputs(b.p, stdout);
		ev_buf_free(&b);
		print_groups(gs);
		fputs("]}\n", stdout);
		return;
	}
	printf("spool     %s\nevents    %" PRIu64 "\nbytes     %" PRIu64 "\nsegments  %" PRIu64
	    "\npositions %" PRIu64 "-%" PRIu64 "\n", path, st->events, st->bytes, st->segments,
	    st->start, st->end);
	if (st->first_ms >= 0) {
		ev_time_format(st->first_ms, t);
		printf("first     %s\n", t);
		ev_time_format(st->last_ms, t);
		printf("last      %s\n", t);
	}
	if (st->torn)
		printf("torn      %" PRIu64 " bytes (evspool check --repair)\n", st->torn);
	for (size_t i = 0; i < st->ncursors; i++)
		printf("cursor    %s at %" PRIu64 ": lag %" PRIu64 " events, %" PRIu64 " bytes%s\n",
		    st->cursors[i].name, st->cursors[i].pos, st->cursors[i].lag_events,
		    st->cursors[i].lag_bytes,
		    st->cursors[i].lost ? " (before the oldest event: retention removed some)" : "");
	print_groups(gs);
}

static int
cmd_stat(char **paths, int n)
{
	struct ev_spool_stat *st = ev_calloc((size_t)n, sizeof *st);
	struct groups *gs = ev_calloc((size_t)n, sizeof *gs);
	int status = 0, ok = 0;

	for (int i = 0; i < n; i++) {
		struct ev_spool *sp = ev_spool_open(paths[i], EV_SPOOL_RDONLY);
		if (!sp || ev_spool_stat(sp, &st[i]) < 0 ||
		    ev_spool_times(sp, &st[i].first_ms, &st[i].last_ms) < 0) {
			status = ev_errstatus(errno);
			ev_spool_close(sp);
			continue;
		}
		if (ev_group_stat_all(sp, &gs[i].g, &gs[i].n) < 0) {
			status = ev_errstatus(errno);
			ev_spool_stat_free(&st[i]);
			ev_spool_close(sp);
			continue;
		}
		ev_spool_close(sp);
		paths[ok] = paths[i];
		gs[ok] = gs[i];
		st[ok++] = st[i];
	}
	if (opt.prom) {
		print_prom(st, paths, ok);
		print_prom_groups(gs, paths, ok);
	} else {
		for (int i = 0; i < ok; i++)
			print_stat(paths[i], &st[i], &gs[i]);
	}
	for (int i = 0; i < ok; i++) {
		ev_spool_stat_free(&st[i]);
		ev_group_stat_free(gs[i].g, gs[i].n);
	}
	free(st);
	free(gs);
	return status;
}

static int
cmd_cursor(struct ev_spool *sp, char **names, int n)
{
	char **all = NULL;
	size_t nall;
	int status = 0;

	if (n == 0) {
		if (opt.set || opt.del)
			ev_die(EV_ERROR, "cursor --%s needs a cursor name", opt.set ? "set" : "delete");
		if (ev_spool_cursor_list(sp, &all, &nall) < 0)
			return ev_errstatus(errno);
		names = all;
		n = (int)nall;
	}
	for (int i = 0; i < n; i++) {
		uint64_t pos;
		int64_t ms;

		if (opt.del) {
			if (ev_spool_cursor_delete(sp, names[i]) < 0)
				status = EV_ERROR;
			continue;
		}
		if (opt.set) {
			int r;
			if (strcmp(opt.set, "start") == 0)
				r = ev_spool_pos_start(sp, &pos);
			else if (strcmp(opt.set, "end") == 0)
				r = ev_spool_pos_end(sp, &pos);
			else if (ev_opt_count(opt.set, 0, UINT64_MAX, &pos) == 0)
				r = ev_spool_pos_check(sp, pos, NULL);
			else if (ev_when_parse(opt.set, ev_now_ms(), &ms) == 0)
				r = ev_spool_pos_time(sp, ms, &pos);
			else
				ev_die(EV_ERROR, "--set: '%s' is not start, end, an offset or a time",
				    opt.set);
			if (r < 0 || ev_spool_cursor_set(sp, names[i], pos) < 0)
				status = ev_errstatus(errno);
			continue;
		}
		int r = ev_spool_cursor_get(sp, names[i], &pos);
		if (r < 0)
			status = EV_ERROR;
		else if (r == 0) {
			ev_warn("%s/cursors/%s: no such cursor", ev_spool_path(sp), names[i]);
			status = EV_ERROR;
		} else
			printf("%s %" PRIu64 "\n", names[i], pos);
	}
	ev_cursor_list_free(all);
	return status;
}

/* Every event of each spool checked against the keyring: a bad one is
 * reported with its place and reason; 1 when any was bad. */
static int
cmd_verify(const char *keys, char **paths, int n, enum ev_statsfmt stats)
{
	struct ev_keyring *k;
	struct ev_buf why = { 0 };
	uintmax_t good = 0, bad = 0;
	int status = 0;

	if (!keys)
		ev_die(EV_ERROR, "verify: --verify-keys dir is required");
	if (!(k = ev_keyring_load(keys)))
		return EV_ERROR;
	for (int i = 0; i < n; i++) {
		struct ev_source_conf c = { .follow = 0, .start = EV_START_BEGIN };
		struct ev_source *src = ev_source_open(paths[i], &c);
		struct ev_line l;
		int r;

		if (!src) {
			status = ev_errstatus(errno);
			continue;
		}
		while ((r = ev_source_next(src, &l, -1)) == EV_SRC_LINE) {
			if (ev_verify_line(k, l.p, l.len, &why) == 0) {
				good++;
				continue;
			}
			bad++;
			ev_linewarn(paths[i], l.no, "%s", why.p);
			if (status == 0)
				status = EV_FALSE;
		}
		if (r == EV_SRC_ERR)
			status = ev_errstatus(errno);
		ev_source_close(src);
	}
	if (stats)
		ev_stats_print(stats, (struct ev_stat[]){ { "verified", good }, { "bad", bad } }, 2);
	ev_buf_free(&why);
	ev_keyring_free(k);
	return status;
}

/* check and gc: on each spool, the exit status of the worst. */
static int
cmd_checkgc(int gc, char **paths, int n, enum ev_statsfmt stats)
{
	int status = 0, r;

	for (int i = 0; i < n; i++) {
		struct ev_spool *sp = ev_spool_open(paths[i],
		    gc || opt.repair ? EV_SPOOL_WRITE : EV_SPOOL_RDONLY);
		struct ev_spool_gc res;
		if (!sp) {
			status = ev_errstatus(errno);
			continue;
		}
		if (!gc) {
			if ((r = ev_spool_check(sp, opt.repair)) < 0)
				status = ev_errstatus(errno);
			else if (r > 0 && status == 0)
				status = EV_FALSE;
		} else if (ev_spool_gc(sp, opt.force, &res) < 0) {
			status = ev_errstatus(errno);
		} else {
			if (res.kept)
				ev_warn("%s: kept %" PRIu64 " expired segments that a cursor has "
				    "not read (evspool gc --force deletes them)", paths[i], res.kept);
			if (stats)
				ev_stats_print(stats, (struct ev_stat[]){
					{ "deleted", res.segments }, { "bytes", res.bytes },
					{ "kept", res.kept } }, 3);
		}
		ev_spool_close(sp);
	}
	return status;
}

static const struct option longopts[] = {
	{ "group", required_argument, NULL, 'g' },
	{ "mode", required_argument, NULL, 'm' },
	{ "delete", no_argument, NULL, OPT_DELETE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "prometheus", no_argument, NULL, OPT_PROM },
	{ "repair", no_argument, NULL, OPT_REPAIR },
	{ "retain-age", required_argument, NULL, OPT_RETAIN_AGE },
	{ "retain-bytes", required_argument, NULL, OPT_RETAIN_BYTES },
	{ "segment-bytes", required_argument, NULL, OPT_SEGMENT_BYTES },
	{ "set", required_argument, NULL, OPT_SET },
	EV_COMMON_LONGOPTS,
	EV_VERIFY_LONGOPT,
	{ NULL, 0, NULL, 0 }
};

static mode_t
filemode(const char *s)
{
	char *end;
	unsigned long mode = strtoul(s, &end, 8);

	if (!*s || *end || mode > 0777)
		ev_die(EV_ERROR, "-m: '%s' is not an octal file mode like 0660", s);
	return (mode_t)mode;
}

static int64_t
retainage(const char *s)
{
	int64_t ms;

	if (ev_dur_parse(s, &ms) < 0)
		ev_die(EV_ERROR, "--retain-age: '%s' is not a duration (like 7d)", s);
	return ms;
}

static uint64_t
segmentbytes(const char *s)
{
	uint64_t n = parse_size(s, "segment-bytes");

	if (n == 0)
		ev_die(EV_ERROR, "--segment-bytes: must be more than 0");
	return n;
}

/* The options into opt and o; the operands left (the command first). */
static void
parseopts(struct ev_opts *o, int *argc, char ***argv)
{
	int ch;

	ev_opts_init(o, SYNOPSIS);
	ev_opts_doc(o, "Create, inspect, check and expire spools, and manage their cursors.", longopts, docs);
	ev_spool_conf_default(&opt.conf);
	while ((ch = getopt_long(*argc, *argv, "g:m:" EV_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (tool_option(o, ch, optarg))
			continue;
		switch (ch) {
		case 'g': opt.group = optarg; break;
		case 'm': opt.conf.mode = filemode(optarg); break;
		case OPT_DELETE: opt.del = 1; break;
		case OPT_FORCE: opt.force = 1; break;
		case OPT_JSON: opt.json = 1; break;
		case OPT_PROM: opt.prom = 1; break;
		case OPT_REPAIR: opt.repair = 1; break;
		case OPT_RETAIN_AGE: opt.conf.retain_ms = retainage(optarg); break;
		case OPT_RETAIN_BYTES: opt.conf.retain_bytes = parse_size(optarg, "retain-bytes"); break;
		case OPT_SEGMENT_BYTES: opt.conf.segment_bytes = segmentbytes(optarg); break;
		case OPT_SET: opt.set = optarg; break;
		default: usage();
		}
	}
	*argc -= optind;
	*argv += optind;
	if (*argc < 2)
		usage();
}

/* The commands that read or change spools, after init and keygen. */
static int
command(const char *cmd, const struct ev_opts *o, char **argv, int argc)
{
	if (opt.json && opt.prom)
		ev_die(EV_ERROR, "--json and --prometheus exclude each other");
	if (opt.set && opt.del)
		ev_die(EV_ERROR, "--set and --delete exclude each other");
	if (strcmp(cmd, "stat") == 0)
		return cmd_stat(argv, argc);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(o->verify_keys, argv, argc, o->stats);
	if (strcmp(cmd, "cursor") == 0) {
		struct ev_spool *sp = ev_spool_open(argv[0], EV_SPOOL_RDONLY);
		int status;
		if (!sp)
			exit(ev_errstatus(errno));
		status = cmd_cursor(sp, argv + 1, argc - 1);
		ev_spool_close(sp);
		return status;
	}
	if (strcmp(cmd, "check") == 0 || strcmp(cmd, "gc") == 0)
		return cmd_checkgc(cmd[0] == 'g', argv, argc, o->stats);
	ev_warn("'%s': not a command (init, stat, check, gc, cursor, verify, keygen)", cmd);
	usage();
	return EV_ERROR;
}

int
main(int argc, char *argv[])
{
	struct ev_opts o;
	const char *cmd;
	int status;

	ev_setprog(argv[0]);
	parseopts(&o, &argc, &argv);
	cmd = argv[0];
	argc--;
	argv++;
	if (strcmp(cmd, "keygen") == 0) {
		if (argc < 2)
			usage();
		return ev_keygen(argv[0], argv[1], argv + 2, argc - 2) < 0 ? EV_ERROR : 0;
	}
	if (strcmp(cmd, "init") == 0) {
		if (argc != 1)
			usage();
		return ev_spool_init(argv[0], &opt.conf, opt.group) < 0 ? ev_errstatus(errno) : 0;
	}
	status = command(cmd, &o, argv, argc);
	if (fflush(stdout) == EOF || ferror(stdout) || fclose(stdout) == EOF) {
		ev_warn("<stdout>: write:");
		status = EV_TEMPFAIL;
	}
	return status;
}
