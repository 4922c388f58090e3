/* SPDX-License-Identifier: ISC */
/* cursor.c — committed positions: cursors/NAME = "OFFSET\n", replaced atomically.
 *
 * The temporary file is ".NAME.PID.tmp": a cursor name never starts with
 * '.', so temporaries never collide with cursors and listings skip them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/cursor.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/replace.h"
#include "base/safeopen.h"

int
ev_cursor_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > EV_CURSOR_NAME_MAX || name[0] == '.' || strstr(name, ".."))
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
ev_cursor_check(const char *name)
{
	if (ev_cursor_valid(name))
		return 0;
	ev_warn("'%s': not a valid cursor name (1-%d bytes, no '/', no '..', "
	    "not starting with '.')", name, EV_CURSOR_NAME_MAX);
	errno = EINVAL;
	return -1;
}

int
ev_cursor_get(int dirfd, const char *dir, const char *name, uint64_t *pos)
{
	char buf[32], *end;
	ssize_t n;
	int fd;

	if (ev_cursor_check(name) < 0)
		return -1;
	if ((fd = ev_open_regular(dirfd, name, O_RDONLY)) < 0) {
		if (errno == ENOENT)
			return 0;
		int err = errno;
		ev_warn("%s/%s: cannot read cursor: %s", dir, name, ev_open_why(err));
		errno = err;
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		ev_warn("%s/%s: cannot read cursor:", dir, name);
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	errno = 0;
	uintmax_t v = strtoumax(buf, &end, 10);
	if (n < 2 || buf[0] < '0' || buf[0] > '9' || errno || strcmp(end, "\n") != 0 ||
	    v > INT64_MAX) {
		ev_warn("%s/%s: not a cursor (expected one decimal offset and a newline)", dir, name);
		errno = EINVAL;
		return -1;
	}
	*pos = v;
	return 1;
}

int
ev_cursor_set(int dirfd, const char *dir, const char *name, uint64_t pos, mode_t mode, int nosync)
{
	char buf[32];
	int len;

	if (ev_cursor_check(name) < 0)
		return -1;
	len = snprintf(buf, sizeof buf, "%" PRIu64 "\n", pos);
	return ev_replace(dirfd, dir, name, buf, (size_t)len, mode, nosync);
}

int
ev_cursor_delete(int dirfd, const char *dir, const char *name)
{
	if (ev_cursor_check(name) < 0)
		return -1;
	if (unlinkat(dirfd, name, 0) < 0) {
		if (errno != ENOENT)
			ev_warn("%s/%s: cannot delete cursor:", dir, name);
		return -1;
	}
	if (fsync(dirfd) < 0) {
		ev_warn("%s: fsync:", dir);
		return -1;
	}
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ev_cursor_list(int dirfd, const char *dir, char ***names, size_t *n)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *e;
	char **v = NULL;
	size_t k = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		ev_warn("%s: cannot list cursors:", dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	v = ev_malloc(sizeof *v);
	while ((errno = 0, e = readdir(d))) {
		if (!ev_cursor_valid(e->d_name))
			continue;
		v = ev_reallocarray(v, k + 2, sizeof *v);
		v[k++] = ev_strdup(e->d_name);
	}
	if (errno) {
		ev_warn("%s: cannot list cursors:", dir);
		closedir(d);
		v[k] = NULL;
		ev_cursor_list_free(v);
		return -1;
	}
	closedir(d);
	v[k] = NULL;
	qsort(v, k, sizeof *v, cmpstr);
	*names = v;
	*n = k;
	return 0;
}

void
ev_cursor_list_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}
