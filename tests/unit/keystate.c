/* SPDX-License-Identifier: ISC */
/* The state file: round trips, torn and damaged ends, locking, compaction. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedupe/keystate.h"

static char dir[64], path[96];

static void
mkdir_tmp(void)
{
	strcpy(dir, "/tmp/evkit-keystate-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/state", dir);
}

static void
rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(keystate, .init = mkdir_tmp, .fini = rm_tmp);

static struct ev_keyent
k(uint32_t id)
{
	return (struct ev_keyent){ (uint64_t)id * 0x9e3779b97f4a7c15u, id, 1000 + id };
}

/* Add keys [from, to) and note them; commit when asked. */
static void
feed(struct ev_keyset *ks, struct ev_keystate *st, uint32_t from, uint32_t to, int commit)
{
	for (uint32_t i = from; i < to; i++) {
		struct ev_keyent e = k(i);
		ev_keyset_clock(ks, e.t);
		if (ev_keyset_add(ks, &e))
			ev_keystate_note(st, &e);
	}
	if (commit)
		cr_assert_eq(ev_keystate_commit(st), 0);
}

static off_t
filesize(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_size : -1;
}

Test(keystate, round_trip)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);
	struct ev_keystate *st = ev_keystate_open(path, "source+id", EV_SYNC_BATCH, ks);

	cr_assert_not_null(st);
	cr_expect_eq(ev_keystate_loaded(st), 0);
	feed(ks, st, 0, 1000, 1);
	feed(ks, st, 1000, 1500, 1);
	feed(ks, st, 1500, 1600, 0); /* not committed: must not come back */
	cr_expect_eq(ev_keystate_close(st), 0);
	ev_keyset_free(ks);

	ks = ev_keyset_new(0, 0);
	st = ev_keystate_open(path, "source+id", EV_SYNC_BATCH, ks);
	cr_assert_not_null(st);
	cr_expect_eq(ev_keystate_loaded(st), 1500);
	for (uint32_t i = 0; i < 1600; i++) {
		struct ev_keyent e = k(i);
		cr_expect_eq(ev_keyset_has(ks, e.lo, e.hi), i < 1500, "key %u", i);
	}
	ev_keystate_close(st);
	ev_keyset_free(ks);
}

Test(keystate, windows_apply_on_load)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);
	struct ev_keystate *st = ev_keystate_open(path, "x", EV_SYNC_NONE, ks);

	cr_assert_not_null(st);
	feed(ks, st, 0, 500, 1);
	ev_keystate_close(st);
	ev_keyset_free(ks);

	ks = ev_keyset_new(100, 0);
	st = ev_keystate_open(path, "x", EV_SYNC_NONE, ks);
	cr_assert_not_null(st);
	cr_expect_eq(ev_keyset_count(ks), 100);
	cr_expect(ev_keyset_has(ks, k(499).lo, k(499).hi));
	cr_expect_not(ev_keyset_has(ks, k(399).lo, k(399).hi));
	ev_keystate_close(st);
	ev_keyset_free(ks);

	/* Times 1000..1499, clock 1499: a 50 ms window keeps 1450..1499. */
	ks = ev_keyset_new(0, 50);
	st = ev_keystate_open(path, "x", EV_SYNC_NONE, ks);
	cr_assert_not_null(st);
	cr_expect_eq(ev_keyset_count(ks), 50);
	ev_keystate_close(st);
	ev_keyset_free(ks);
}

Test(keystate, refuses_another_key_and_other_files)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);
	struct ev_keystate *st = ev_keystate_open(path, "source+id", EV_SYNC_BATCH, ks);
	FILE *f;

	cr_assert_not_null(st);
	ev_keystate_close(st);
	cr_expect_null(ev_keystate_open(path, "jq:.data.order_id", EV_SYNC_BATCH, ks));
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{\"not\":\"a state\"}\n", f);
	fclose(f);
	cr_expect_null(ev_keystate_open(path, "source+id", EV_SYNC_BATCH, ks));
	ev_keyset_free(ks);
}

Test(keystate, one_writer_at_a_time)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0), *ks2 = ev_keyset_new(0, 0);
	struct ev_keystate *st = ev_keystate_open(path, "id", EV_SYNC_BATCH, ks);

	cr_assert_not_null(st);
	cr_expect_null(ev_keystate_open(path, "id", EV_SYNC_BATCH, ks2));
	ev_keystate_close(st);
	st = ev_keystate_open(path, "id", EV_SYNC_BATCH, ks2);
	cr_expect_not_null(st);
	ev_keystate_close(st);
	ev_keyset_free(ks);
	ev_keyset_free(ks2);
}

/* Write a state of 3 records of 100 keys, then damage its end with f. */
static off_t
three_records(void)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);
	struct ev_keystate *st = ev_keystate_open(path, "id", EV_SYNC_BATCH, ks);

	cr_assert_not_null(st);
	feed(ks, st, 0, 100, 1);
	feed(ks, st, 100, 200, 1);
	feed(ks, st, 200, 300, 1);
	ev_keystate_close(st);
	ev_keyset_free(ks);
	return filesize(path);
}

static size_t
reload(void)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);
	struct ev_keystate *st = ev_keystate_open(path, "id", EV_SYNC_BATCH, ks);
	size_t n;

	cr_assert_not_null(st);
	n = ev_keystate_loaded(st);
	/* The next append follows the last good record. */
	feed(ks, st, 1000, 1010, 1);
	ev_keystate_close(st);
	ev_keyset_free(ks);
	return n;
}

Test(keystate, torn_tail_is_dropped)
{
	/* A record is 16 + 100 * 24 + 8 = 2424 bytes; cut each possible way into the last one. */
	static const off_t cuts[] = { 1, 8, 16, 17, 2400, 2423 };
	off_t size = three_records();
	char save[sizeof path + 8];

	snprintf(save, sizeof save, "%s.full", path);
	cr_assert_eq(rename(path, save), 0);
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "head -c %lld '%s' > '%s'", (long long)(size - cuts[i]),
		    save, path);
		cr_assert_eq(system(cmd), 0);
		cr_expect_eq(reload(), 200, "cut %lld", (long long)cuts[i]);
		cr_expect_eq(reload(), 210, "cut %lld, second load", (long long)cuts[i]);
	}
}

Test(keystate, damaged_record_is_dropped)
{
	off_t size = three_records();
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "X", 1, size - 1000), 1);
	close(fd);
	cr_expect_eq(reload(), 200);
	cr_expect_eq(reload(), 210);
}

/* Open a damaged state: refused (EILSEQ), the file left as it was. */
static void
refused(off_t size)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);

	cr_expect_null(ev_keystate_open(path, "id", EV_SYNC_BATCH, ks));
	cr_expect_eq(errno, EILSEQ);
	cr_expect_eq(filesize(path), size);
	ev_keyset_free(ks);
}

Test(keystate, garbage_after_records_is_refused)
{
	off_t size = three_records();
	FILE *f = fopen(path, "a");

	cr_assert_not_null(f);
	fputs("garbage that is not a record at all, long enough", f);
	fclose(f);
	refused(size + 48);
}

/* One flipped bit in a record with records after it would forget all of
 * their keys: a loud failure, never a silent loss. */
Test(keystate, damaged_record_before_others_is_refused)
{
	off_t size = three_records();
	int fd = open(path, O_RDWR);
	char c;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &c, 1, 32 + 16 + 50 * 24), 1);
	c ^= 0x10;
	cr_assert_eq(pwrite(fd, &c, 1, 32 + 16 + 50 * 24), 1);
	close(fd);
	refused(size);
}

Test(keystate, zeros_at_the_end_are_dropped)
{
	off_t size = three_records();
	int fd = open(path, O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, size + 8192), 0);
	close(fd);
	cr_expect_eq(reload(), 300);
}

Test(keystate, empty_file_is_a_new_state)
{
	struct ev_keyset *ks = ev_keyset_new(0, 0);
	struct ev_keystate *st;

	close(open(path, O_WRONLY | O_CREAT, 0644));
	st = ev_keystate_open(path, "id", EV_SYNC_BATCH, ks);
	cr_assert_not_null(st);
	feed(ks, st, 0, 10, 1);
	ev_keystate_close(st);
	ev_keyset_free(ks);
	cr_expect_eq(reload(), 10);
}

Test(keystate, compacts_to_what_is_remembered)
{
	struct ev_keyset *ks = ev_keyset_new(1000, 0);
	struct ev_keystate *st = ev_keystate_open(path, "id", EV_SYNC_NONE, ks);

	cr_assert_not_null(st);
	for (uint32_t i = 0; i < 100000; i += 500)
		feed(ks, st, i, i + 500, 1);
	ev_keystate_close(st);
	ev_keyset_free(ks);
	/* Never more than twice the minimum the compaction waits for. */
	cr_expect_lt(filesize(path), 2 * 16384 * 24, "%lld bytes", (long long)filesize(path));

	ks = ev_keyset_new(1000, 0);
	st = ev_keystate_open(path, "id", EV_SYNC_NONE, ks);
	cr_assert_not_null(st);
	cr_expect_eq(ev_keyset_count(ks), 1000);
	for (uint32_t i = 99000; i < 100000; i++)
		cr_expect(ev_keyset_has(ks, k(i).lo, k(i).hi), "key %u", i);
	ev_keystate_close(st);
	ev_keyset_free(ks);
}
