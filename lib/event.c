/* event.c — splice attributes into an event line (dead letters): the
 * original bytes, escapes and member order survive untouched. */
#include <string.h>

#include "event.h"
#include "jsonscan.h"

static int
splice(struct ev_buf *buf, const char *line, size_t len, const char *name,
    const char *json_value, int replace)
{
	struct ev_buf path = { 0 }, err = { 0 };
	struct ev_jpath *jp;
	struct ev_jval v;
	size_t end, i;
	int r = -1;

	ev_buf_adds(&path, ".");
	ev_buf_adds(&path, name);
	jp = ev_jpath_compile(path.p, &err);
	if (!jp)
		goto out;
	if (ev_json_scan(line, len, &jp, 1, &v, NULL) < 0)
		goto out;
	for (i = 0; i < len && strchr(" \t\r\n", line[i]); i++)
		;
	for (end = len; end > i && strchr(" \t\r\n", line[end - 1]); end--)
		;
	if (i == end || line[i] != '{' || line[end - 1] != '}')
		goto out;
	if (replace && v.type != EV_J_MISSING) {
		size_t at = (size_t)(v.p - line);
		ev_buf_add(buf, line, at);
		ev_buf_adds(buf, json_value);
		ev_buf_add(buf, v.p + v.len, len - at - v.len);
	} else {
		size_t close = end - 1, j = close;
		while (j > i + 1 && strchr(" \t\r\n", line[j - 1]))
			j--;
		ev_buf_add(buf, line, close);
		if (j > i + 1)
			ev_buf_addc(buf, ',');
		ev_buf_addc(buf, '"');
		ev_buf_adds(buf, name);
		ev_buf_adds(buf, "\":");
		ev_buf_adds(buf, json_value);
		ev_buf_add(buf, line + close, len - close);
	}
	r = 0;
out:
	ev_jpath_free(jp);
	ev_buf_free(&path);
	ev_buf_free(&err);
	return r;
}

int
ev_event_addattr(struct ev_buf *buf, const char *line, size_t len, const char *name,
    const char *json_value)
{
	return splice(buf, line, len, name, json_value, 0);
}

int
ev_event_setattr(struct ev_buf *buf, const char *line, size_t len, const char *name,
    const char *json_value)
{
	return splice(buf, line, len, name, json_value, 1);
}
