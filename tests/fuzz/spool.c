/* SPDX-License-Identifier: ISC */
/* Fuzz the spool's readers and its doctor on damaged and hostile spool
 * directories. The input describes one: segments (where each begins,
 * relative to where the one before it ends, and its bytes) and cursors
 * (regular files with any bytes, or a FIFO, a symbolic link, a directory).
 * On it: stat, check, a reader from the oldest event and from every
 * cursor, the time search, an append that rolls over with retention, gc,
 * a repair and a second check, with a small --max-event-size. Nothing may
 * crash, hang (libFuzzer's -timeout), hand out a line holding a newline, or
 * one longer than the limit. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/opts.h"
#include "spool/spool.h"

#include "fuzz.h"

struct in {
	const uint8_t *p, *e;
};

static unsigned
byte(struct in *in)
{
	return in->p < in->e ? *in->p++ : 0;
}

static size_t
take(struct in *in, size_t n, const uint8_t **at)
{
	size_t have = (size_t)(in->e - in->p);

	if (n > have)
		n = have;
	*at = in->p;
	in->p += n;
	return n;
}

static void
put(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	FUZZ_ASSERT(fd >= 0, "%s: %s", path, strerror(errno));
	FUZZ_ASSERT(n == 0 || write(fd, p, n) == (ssize_t)n, "%s: write", path);
	close(fd);
}

static int
rmone(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
rmtree(const char *dir)
{
	if (nftw(dir, rmone, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		FUZZ_ASSERT(0, "cannot remove %s: %s", dir, strerror(errno));
}

/* Read at most 200 lines from pos; a line never holds a newline. */
static void
drain(struct ev_spool *sp, uint64_t pos, int skip_lost)
{
	struct ev_spool_reader *r = ev_spool_reader_new(sp, pos, skip_lost);
	struct ev_line l;
	uint64_t last = 0;

	if (!r)
		return;
	for (int i = 0; i < 200 && ev_spool_reader_next(r, &l) == 1; i++) {
		FUZZ_ASSERT(!memchr(l.p, '\n', l.len), "a line holds a newline");
		FUZZ_ASSERT(l.len <= ev_max_event && (!l.toolong || (l.len == ev_max_event &&
		    l.toolong > ev_max_event)), "a line of %zu bytes, toolong %ju, limit %zu", l.len,
		    (uintmax_t)l.toolong, ev_max_event);
		FUZZ_ASSERT(l.pos > last, "positions go back: %ju after %ju", (uintmax_t)l.pos,
		    (uintmax_t)last);
		last = l.pos;
	}
	ev_spool_reader_free(r);
}

static void
look(struct ev_spool *sp)
{
	struct ev_spool_stat st;
	uint64_t pos;
	int64_t first, lastms;
	char **names;
	size_t n;

	if (ev_spool_stat(sp, &st) == 0)
		ev_spool_stat_free(&st);
	ev_spool_check(sp, 0);
	if (ev_spool_pos_start(sp, &pos) == 0)
		drain(sp, pos, 1);
	if (ev_spool_cursor_list(sp, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (ev_spool_cursor_get(sp, names[i], &pos) == 1 &&
			    ev_spool_pos_check(sp, pos, NULL) == 0)
				drain(sp, pos, 0);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	if (ev_spool_times(sp, &first, &lastms) == 0 && first >= 0)
		ev_spool_pos_time(sp, first + (lastms - first) / 2, &pos);
	ev_spool_pos_time(sp, 1700000000000, &pos);
	ev_spool_pos_end(sp, &pos);
	ev_spool_pos_last(sp, 3, &pos);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	struct in in = { data, data + size };
	struct ev_spool_conf conf;
	char path[256];
	const uint8_t *p;
	uint64_t base = 0;

	if (!dir[0]) {
		fuzz_quiet();
		snprintf(dir, sizeof dir, "/dev/shm/evfuzz-spool.%ld", (long)getpid());
		if (access("/dev/shm", W_OK) != 0)
			snprintf(dir, sizeof dir, "/tmp/evfuzz-spool.%ld", (long)getpid());
	}
	rmtree(dir);
	ev_spool_conf_default(&conf);
	conf.segment_bytes = 64 + byte(&in);
	conf.retain_bytes = byte(&in) & 1 ? 1 : 0;
	ev_max_event = 8 + byte(&in); /* --max-event-size: small, to be reached */
	if (ev_spool_init(dir, &conf, NULL) < 0)
		return 0;
	snprintf(path, sizeof path, "%s/segments/0000000000000000.ndjson", dir);
	unlink(path);
	for (unsigned i = 0, nseg = 1 + byte(&in) % 4; i < nseg; i++) {
		int delta = (int)byte(&in) - 128; /* mostly contiguous: 0; a gap or an overlap */
		if (delta > -100 && delta < 100)
			delta = 0;
		size_t len = take(&in, byte(&in), &p);
		if (delta < 0 && base < (uint64_t)-delta)
			delta = 0;
		base += (uint64_t)(int64_t)delta;
		snprintf(path, sizeof path, "%s/segments/%016" PRIx64 ".ndjson", dir, base);
		put(path, p, len);
		base += len;
	}
	for (unsigned i = 0, ncur = byte(&in) % 4; i < ncur; i++) {
		unsigned kind = byte(&in) % 6;
		size_t len = take(&in, byte(&in) % 24, &p);
		snprintf(path, sizeof path, "%s/cursors/c%u", dir, i);
		switch (kind) {
		case 0: case 1: case 2: put(path, p, len); break;
		case 3: mkfifo(path, 0644); break;
		case 4: symlink("../segments/0000000000000000.ndjson", path); break;
		default: mkdir(path, 0755); break;
		}
	}
	struct ev_spool *sp = ev_spool_open(dir, EV_SPOOL_RDONLY);
	if (sp) {
		look(sp);
		ev_spool_close(sp);
	}
	if ((sp = ev_spool_open(dir, EV_SPOOL_WRITE))) {
		struct ev_spool_gc gc;
		static const char lines[] = "{\"time\":\"2026-11-23T10:00:00.123Z\",\"n\":1}\n{}\n";
		for (int i = 0; i < 4; i++)
			ev_spool_append(sp, lines, sizeof lines - 1, 1);
		ev_spool_gc(sp, 0, &gc);
		int before = ev_spool_check(sp, 1);
		int after = ev_spool_check(sp, 0);
		FUZZ_ASSERT(after <= before || before < 0, "a repair made %d problems of %d", after,
		    before);
		look(sp);
		ev_spool_close(sp);
	}
	return 0;
}
