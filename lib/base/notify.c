/* SPDX-License-Identifier: ISC */
/* notify.c — sd_notify(3) for Type=notify services (see notify.h). */
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "base/notify.h"

static int inited, on;
static int64_t watchdog_ms;

void
ev_notify_init(void)
{
	uint64_t usec = 0;

	if (inited)
		return;
	inited = 1;
	on = getenv("NOTIFY_SOCKET") != NULL;
	/* WATCHDOG_USEC (and WATCHDOG_PID, when set, naming us) */
	if (on && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		watchdog_ms = (int64_t)(usec / 2000);
		if (watchdog_ms < 1)
			watchdog_ms = 1;
	}
}

int
ev_notify_on(void)
{
	ev_notify_init();
	return on;
}

static void
tell(const char *msg)
{
	if (ev_notify_on())
		sd_notify(0, msg); /* a failure here must not stop the work */
}

void ev_notify_ready(void) { tell("READY=1"); }
void ev_notify_stopping(void) { tell("STOPPING=1"); }
void ev_notify_watchdog(void) { tell("WATCHDOG=1"); }

void
ev_notify_status(const char *text)
{
	char msg[512];

	if (!ev_notify_on())
		return;
	snprintf(msg, sizeof msg, "STATUS=%s", text);
	sd_notify(0, msg);
}

int64_t
ev_notify_watchdog_ms(void)
{
	ev_notify_init();
	return watchdog_ms;
}
