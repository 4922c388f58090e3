/* spool.c — placeholder until the spool lands: a directory is not yet a location. */
#include <errno.h>

#include "backend.h"
#include "err.h"

void *
ev_spool_sink_open(const char *dir, enum ev_sync sync, const struct ev_sink_ops **ops)
{
	(void)sync, (void)ops;
	ev_warn("%s: is a directory", dir);
	errno = EISDIR;
	return NULL;
}

void *
ev_spool_source_open(const char *dir, const struct ev_source_conf *c,
    const struct ev_source_ops **ops)
{
	(void)c, (void)ops;
	ev_warn("%s: is a directory", dir);
	errno = EISDIR;
	return NULL;
}
