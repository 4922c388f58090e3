/* SPDX-License-Identifier: ISC */
/* opts.h — options every tool shares: same letter, same meaning, everywhere. */
#ifndef EV_OPTS_H
#define EV_OPTS_H
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --sync. EV_SYNC_AUTO, the default, is batch for spools, brokers and state
 * files, and for plain files too when a durable input (ev_sink_durable)
 * position or state depends on them; otherwise plain files are written
 * without fdatasync, as cat(1) writes them. */
enum ev_sync { EV_SYNC_NONE, EV_SYNC_BATCH, EV_SYNC_ALWAYS, EV_SYNC_AUTO };

/* Long-only options; a tool numbers its own from EV_OPT_TOOL. */
enum {
	EV_OPT_CURSOR = 0x100, EV_OPT_NO_FOLLOW, EV_OPT_REJECTS, EV_OPT_SYNC, EV_OPT_STATS,
	EV_OPT_MAX_EVENT, EV_OPT_WAIT, EV_OPT_GROUP, EV_OPT_MAX_DELIVERIES, EV_OPT_DEAD,
	EV_OPT_SIGN_KEY, EV_OPT_VERIFY_KEYS, EV_OPT_PROMETHEUS, EV_OPT_OTLP,
	EV_OPT_HOLD, EV_OPT_EXPIRED, EV_OPT_PRIORITY,
	EV_OPT_TOOL = 0x200
};

#define EV_COMMON_LONGOPTS \
	{ "input", required_argument, NULL, 'i' }, \
	{ "output", required_argument, NULL, 'o' }, \
	{ "cursor", required_argument, NULL, EV_OPT_CURSOR }, \
	{ "no-follow", no_argument, NULL, EV_OPT_NO_FOLLOW }, \
	{ "rejects", required_argument, NULL, EV_OPT_REJECTS }, \
	{ "sync", required_argument, NULL, EV_OPT_SYNC }, \
	{ "stats", optional_argument, NULL, EV_OPT_STATS }, \
	{ "max-event-size", required_argument, NULL, EV_OPT_MAX_EVENT }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }

/* Options of the tools that read a spool through a cursor (after
 * EV_COMMON_LONGOPTS in their tables; ev_opts_common handles them). */
#define EV_CURSOR_LONGOPTS \
	{ "wait", no_argument, NULL, EV_OPT_WAIT }, \
	{ "group", required_argument, NULL, EV_OPT_GROUP }, \
	{ "max-deliveries", required_argument, NULL, EV_OPT_MAX_DELIVERIES }
/* Work queues, for the tools that hand events on one at a time: delay and
 * expiry (io/timed.h): --hold keeps an event until its evnotbefore,
 * --expired drops one past its expirytime (--expired=DEST keeps it there);
 * several spool inputs (-i a -i b) are read fairly interleaved, or with
 * --priority from the earliest that has events (io/fanin.c). */
#define EV_QUEUE_LONGOPTS \
	{ "hold", no_argument, NULL, EV_OPT_HOLD }, \
	{ "expired", optional_argument, NULL, EV_OPT_EXPIRED }, \
	{ "priority", no_argument, NULL, EV_OPT_PRIORITY }
/* --dead DEST, for the tools that have no dead-letter output of their own. */
#define EV_DEAD_LONGOPT \
	{ "dead", required_argument, NULL, EV_OPT_DEAD }

/* Signed events (sign/sign.h, evkit(7)): --sign-key FILE, for the tools
 * that write events (every sink they open signs, --rejects excepted);
 * --verify-keys DIR, for the tools that read them (io/input.c rejects an
 * event without a good signature by a key for its source). */
#define EV_SIGN_LONGOPT \
	{ "sign-key", required_argument, NULL, EV_OPT_SIGN_KEY }
#define EV_VERIFY_LONGOPT \
	{ "verify-keys", required_argument, NULL, EV_OPT_VERIFY_KEYS }

/* --prometheus FILE, for the long-running tools on the shared input loop
 * (io/input.h: the file is written while they run). */
#define EV_PROM_LONGOPT \
	{ "prometheus", required_argument, NULL, EV_OPT_PROMETHEUS }

/* --otlp DEST: spans as OTLP/JSON to a file or a collector (trace/trace.h). */
#define EV_OTLP_LONGOPT \
	{ "otlp", required_argument, NULL, EV_OPT_OTLP }

/* Everything a reader that hands events on takes besides the common
 * options (evtail, evfilter, evroute, evdedupe): metrics, tracing,
 * signatures, cursors and groups, the work-queue options, dead letters. */
#define EV_READER_LONGOPTS \
	EV_CONSUMER_LONGOPTS, EV_QUEUE_LONGOPTS, EV_DEAD_LONGOPT
/* ... of which every tool that reads through a cursor or a group takes
 * these (evfold and evretry, which take a part of the rest). */
#define EV_CONSUMER_LONGOPTS \
	EV_PROM_LONGOPT, EV_OTLP_LONGOPT, EV_SIGN_LONGOPT, EV_VERIFY_LONGOPT, \
	EV_CURSOR_LONGOPTS

/* The short letters above, for a tool's optstring: "hi:o:qV". */
#define EV_COMMON_SHORTOPTS "hi:o:qV"

/* --max-event-size: the longest line (event) a reader holds, in bytes;
 * a longer one is reported and skipped (reader.h). */
#define EV_MAX_EVENT_DEFAULT ((size_t)16 << 20)
extern size_t ev_max_event;

#define EV_MAX_INPUTS 16 /* -i, at most this many times */

enum ev_statsfmt { EV_STATS_NONE, EV_STATS_TEXT, EV_STATS_JSON };

struct ev_opts {
	const char *input;    /* -i (the first one) */
	const char *inputs[EV_MAX_INPUTS]; /* every -i, in order */
	int ninputs;
	int priority;         /* --priority: the earliest input that has events first */
	const char *output;   /* -o */
	const char *cursor;   /* --cursor */
	int wait;             /* --wait: for a cursor another reader holds */
	const char *group;    /* --group: read a spool as a member of this group */
	uint32_t max_deliveries; /* --max-deliveries (0: no limit) */
	const char *dead;     /* --dead: events past it */
	const char *verify_keys; /* --verify-keys: a keyring (sign/sign.h) */
	const char *prometheus;  /* --prometheus: a metrics file (io/input.h) */
	int hold;             /* --hold: keep events until their evnotbefore */
	int expire;           /* --expired: set aside events past their expirytime */
	const char *expired;  /* --expired=DEST: where they go (NULL: dropped, counted) */
	int follow;           /* -1: the location's default; 0: --no-follow; 1: follow */
	const char *rejects;  /* --rejects */
	enum ev_sync sync;    /* --sync */
	enum ev_statsfmt stats;
	const char *synopsis; /* for usage and --help */
	const char *about;    /* --help: what the tool does, one line */
	const struct option *longopts;
	const struct ev_optdoc *docs;
};

/* --help lists every option of the tool's longopts table (what getopt
 * accepts, so the list cannot miss one), each with the one-line doc found
 * by its long name in the tool's docs, else in the shared ones. The man
 * page and the completions are checked against this list (tests/cli/help.bats). */
struct ev_optdoc {
	const char *name; /* the long name; or "-F" for an option with no long name */
	const char *arg;  /* the argument's name, "[=json]" for an optional one, or NULL */
	const char *doc;  /* what the option does, one short line */
};

void ev_opts_init(struct ev_opts *o, const char *synopsis);
/* Every tool calls this before parsing: docs ends with { NULL }. */
void ev_opts_doc(struct ev_opts *o, const char *about, const struct option *longopts,
    const struct ev_optdoc *docs);
/* --help: the usage, o->about, every option with its doc; to stdout, exit 0. */
_Noreturn void ev_help(const struct ev_opts *o);
/* Handles a common option: returns 1 if ch was one, 0 if not, -1 for a bad
 * value (--sync, --stats ...: reported; the main exits 2). -h and -V print
 * and exit 0, as usage() does: the one exit in lib/ besides ev_die's own
 * and out of memory. */
int ev_opts_common(struct ev_opts *o, int ch, const char *arg);
/* "usage: SYNOPSIS" to stderr and exit 2, or to stdout and exit 0 for --help. */
_Noreturn void ev_usage(const char *synopsis, int help);

/* Option values, read alike by every tool: 0 and the value, or -1 when s is
 * not one (the tool says so, in its words, and exits 2). A count is decimal
 * digits only, from min to max. Sizes: base/size.h; durations and times:
 * base/time.h. */
int ev_opt_count(const char *s, uint64_t min, uint64_t max, uint64_t *v);

/* Counters printed by --stats on exit, to stderr: "tool: name N, ..." or JSON. */
struct ev_stat {
	const char *name;
	uintmax_t n;
};
/* "64M", "1G", "4096": bytes, with binary K, M, G, T suffixes: 0 and *v,
 * or -1 after a message naming --what for anything else (the main exits 2). */
int ev_opt_size(const char *s, const char *what, uint64_t *v);

void ev_stats_print(enum ev_statsfmt fmt, const struct ev_stat *s, size_t n);
/* "name N, name N" into buf (for systemd's STATUS=); truncated to size. */
void ev_stats_line(char *buf, size_t size, const struct ev_stat *s, size_t n);
/* A tool's counts, the same for --stats on exit, SIGUSR1 and STATUS=:
 * fills s with at most max counters and returns how many. */
typedef size_t ev_counts_fn(void *arg, struct ev_stat *s, size_t max);
#define EV_STATS_MAX 16

#endif
