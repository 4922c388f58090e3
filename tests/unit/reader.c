/* SPDX-License-Identifier: ISC */
/* The line reader: any length, CRLF, NUL, no final newline, buffer edges. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "io/reader.h"

/* A file descriptor that reads back the n bytes of s. */
static int
fdof(const void *s, size_t n)
{
	FILE *f = tmpfile();

	cr_assert(f);
	cr_assert_eq(fwrite(s, 1, n, f), n);
	fflush(f);
	int fd = dup(fileno(f));
	fclose(f);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static struct ev_reader *
readerof(const char *s, size_t n)
{
	return ev_reader_new(fdof(s, n), 0);
}

static void
done(struct ev_reader *r)
{
	close(ev_reader_fd(r));
	ev_reader_free(r);
}

Test(reader, empty_input)
{
	struct ev_reader *r = readerof("", 0);
	struct ev_line l;

	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL), 0);
	cr_expect_eq(ev_reader_next(r, &l, 0), 0);
	cr_expect_eq(ev_reader_pending(r), 0);
	done(r);
}

Test(reader, lines_numbers_and_positions)
{
	static const struct { const char *p; size_t len; uint64_t pos; } want[] = {
		{ "a", 1, 2 }, { "", 0, 3 }, { "bc", 2, 7 }, { "", 0, 9 }, { "d e", 3, 13 },
	};
	const char in[] = "a\n\nbc\r\n\r\nd e\n";
	struct ev_reader *r = readerof(in, sizeof in - 1);
	struct ev_line l;

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		cr_assert_eq(ev_reader_next(r, &l, 0), 1, "line %zu", i + 1);
		cr_expect_eq(l.len, want[i].len, "line %zu", i + 1);
		cr_expect_eq(memcmp(l.p, want[i].p, l.len), 0, "line %zu", i + 1);
		cr_expect_eq(l.p[l.len], '\0');
		cr_expect_eq(l.no, i + 1);
		cr_expect_eq(l.pos, want[i].pos, "line %zu: pos %ju", i + 1, (uintmax_t)l.pos);
		cr_expect_eq(l.partial, 0);
	}
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL), 0);
	done(r);
}

Test(reader, start_position_is_counted_from)
{
	struct ev_reader *r = ev_reader_new(fdof("x\n", 2), 1000);
	struct ev_line l;

	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_eq(l.pos, 1002);
	done(r);
}

Test(reader, no_final_newline)
{
	struct ev_reader *r = readerof("one\ntwo", 7);
	struct ev_line l;

	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_str_eq(l.p, "one");
	/* Without EV_RD_TAIL the tail waits for its newline (a growing file). */
	cr_expect_eq(ev_reader_next(r, &l, 0), 0);
	cr_expect_eq(ev_reader_pending(r), 3);
	cr_assert_eq(ev_reader_next(r, &l, EV_RD_TAIL), 1);
	cr_expect_str_eq(l.p, "two");
	cr_expect_eq(l.partial, 1);
	cr_expect_eq(l.no, 2);
	cr_expect_eq(l.pos, 7);
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL), 0);
	done(r);
}

Test(reader, a_growing_file)
{
	char path[] = "/tmp/evkit-reader-XXXXXX";
	int w = mkstemp(path), fd = open(path, O_RDONLY);
	struct ev_reader *r = ev_reader_new(fd, 0);
	struct ev_line l;

	unlink(path);
	cr_assert_eq(write(w, "{\"a\":", 5), 5);
	cr_expect_eq(ev_reader_next(r, &l, 0), 0, "half a line is not a line yet");
	cr_assert_eq(write(w, "1}\n{", 4), 4);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_str_eq(l.p, "{\"a\":1}");
	cr_expect_eq(l.pos, 8);
	cr_expect_eq(ev_reader_next(r, &l, 0), 0);
	close(w);
	done(r);
}

Test(reader, reset_forgets_buffered_bytes)
{
	struct ev_reader *r = readerof("abc", 3);
	struct ev_line l;

	cr_expect_eq(ev_reader_next(r, &l, 0), 0);
	close(ev_reader_fd(r));
	ev_reader_reset(r, fdof("x\n", 2), 40);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_str_eq(l.p, "x");
	cr_expect_eq(l.pos, 42);
	done(r);
}

Test(reader, nul_bytes_inside_a_line)
{
	const char in[] = "a\0b\n\0\n";
	struct ev_reader *r = readerof(in, sizeof in - 1);
	struct ev_line l;

	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_eq(l.len, 3);
	cr_expect_eq(memcmp(l.p, "a\0b", 3), 0);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_eq(l.len, 1);
	cr_expect_eq(l.p[0], '\0');
	cr_expect_eq(l.pos, 6);
	done(r);
}

Test(reader, invalid_utf8_is_just_bytes)
{
	const char in[] = "\xff\xfe\xc3(\n";
	struct ev_reader *r = readerof(in, sizeof in - 1);
	struct ev_line l;

	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_eq(l.len, 4);
	cr_expect_eq(memcmp(l.p, in, 4), 0);
	done(r);
}

/* Lines around the 64 KiB read size, and one of 10 MB, between short ones. */
Test(reader, long_lines)
{
	static const size_t sizes[] = { 65535, 65536, 65537, 200000, 10 * 1024 * 1024, 3 };
	struct ev_buf in = { 0 };
	struct ev_line l;
	uint64_t pos = 0;

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		ev_buf_adds(&in, "{}\n");
		for (size_t j = 0; j < sizes[i]; j++)
			ev_buf_addc(&in, (char)('a' + (i + j) % 26));
		ev_buf_addc(&in, '\n');
	}
	struct ev_reader *r = readerof(in.p, in.len);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		cr_assert_eq(ev_reader_next(r, &l, 0), 1);
		cr_expect_eq(l.len, 2);
		pos += 3;
		cr_assert_eq(ev_reader_next(r, &l, 0), 1);
		cr_assert_eq(l.len, sizes[i], "line of %zu bytes read as %zu", sizes[i], l.len);
		cr_expect_eq(l.p[0], 'a' + (char)(i % 26));
		cr_expect_eq(l.p[l.len - 1], (char)('a' + (i + sizes[i] - 1) % 26));
		cr_expect_eq(l.no, 2 * i + 2);
		pos += sizes[i] + 1;
		cr_expect_eq(l.pos, pos);
	}
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL), 0);
	done(r);
	ev_buf_free(&in);
}

Test(reader, ten_mb_line_without_newline)
{
	size_t n = 10 * 1024 * 1024;
	char *s = malloc(n);
	struct ev_line l;

	memset(s, 'x', n);
	struct ev_reader *r = readerof(s, n);
	cr_assert_eq(ev_reader_next(r, &l, EV_RD_TAIL), 1);
	cr_expect_eq(l.len, n);
	cr_expect_eq(l.partial, 1);
	cr_expect_eq(l.p[n], '\0');
	done(r);
	free(s);
}

/* Many short lines of varied length, written through a pipe in odd-sized
 * pieces, so lines straddle every buffer and read boundary. */
Test(reader, short_lines_across_boundaries)
{
	enum { N = 200000 };
	int p[2];
	pid_t pid;
	struct ev_line l;
	uint64_t pos = 0;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		struct ev_buf b = { 0 };
		close(p[0]);
		for (int i = 0; i < N; i++) {
			ev_buf_printf(&b, "%d:", i);
			for (int j = 0; j < i % 37; j++)
				ev_buf_addc(&b, 'z');
			ev_buf_adds(&b, i % 5 == 0 ? "\r\n" : "\n");
		}
		for (size_t off = 0, k = 1; off < b.len; k = k * 7 % 9973 + 1) {
			size_t n = k < b.len - off ? k : b.len - off;
			if (write(p[1], b.p + off, n) != (ssize_t)n)
				_exit(1);
			off += n;
		}
		_exit(0);
	}
	close(p[1]);
	struct ev_reader *r = ev_reader_new(p[0], 0);
	char want[64];
	for (int i = 0; i < N; i++) {
		int n = snprintf(want, sizeof want, "%d:", i);
		cr_assert_eq(ev_reader_next(r, &l, 0), 1, "line %d", i + 1);
		cr_assert_eq(l.len, (size_t)(n + i % 37), "line %d", i + 1);
		cr_assert_eq(memcmp(l.p, want, (size_t)n), 0, "line %d", i + 1);
		cr_assert_eq(l.no, (uintmax_t)i + 1);
		pos += l.len + (i % 5 == 0 ? 2 : 1);
		cr_assert_eq(l.pos, pos, "line %d", i + 1);
	}
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL), 0);
	close(p[0]);
	ev_reader_free(r);
	int st;
	waitpid(pid, &st, 0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A line past the limit: its first max bytes, its full length, the right
 * position; the lines around it untouched; never more than the limit held. */
Test(reader, line_past_the_limit)
{
	size_t big = 3 * 1024 * 1024 + 17;
	char *in = ev_malloc(big + 32);
	size_t n = 0;
	struct ev_line l;

	n += (size_t)sprintf(in, "{\"a\":1}\n");
	memset(in + n, 'x', big);
	n += big;
	n += (size_t)sprintf(in + n, "\n{\"b\":2}\nxyz");
	struct ev_reader *r = readerof(in, n);
	ev_reader_setmax(r, 1000);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect(l.len == 7 && l.toolong == 0 && l.pos == 8);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect_eq(l.toolong, big);
	cr_expect_eq(l.len, 1000);
	cr_expect_eq(l.no, 2);
	cr_expect_eq(l.pos, 8 + big + 1);
	cr_expect(l.p[0] == 'x' && l.p[999] == 'x' && l.p[1000] == '\0');
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect(l.len == 7 && memcmp(l.p, "{\"b\":2}", 7) == 0 && l.toolong == 0 && l.no == 3);
	cr_expect_eq(ev_reader_next(r, &l, 0), 0);
	/* a tail past the limit, at the end of the input */
	done(r);
	r = readerof(in + 8, big);
	ev_reader_setmax(r, 10);
	cr_assert_eq(ev_reader_next(r, &l, EV_RD_TAIL), 1);
	cr_expect(l.partial && l.toolong == big && l.len == 10 && l.pos == big);
	cr_expect_eq(ev_reader_next(r, &l, EV_RD_TAIL), 0);
	done(r);
	free(in);
}

/* The limit counts the bytes before the newline: exactly max is fine. */
Test(reader, line_at_the_limit)
{
	struct ev_reader *r = readerof("abcd\nabcde\nabc\r\nabcd\r\n", 22);
	struct ev_line l;

	ev_reader_setmax(r, 4);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect(l.len == 4 && l.toolong == 0);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect(l.len == 4 && l.toolong == 5);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect(l.len == 3 && l.toolong == 0);
	cr_assert_eq(ev_reader_next(r, &l, 0), 1);
	cr_expect(l.len == 4 && l.toolong == 5 && l.pos == 22);
	done(r);
}
