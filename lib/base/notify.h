/* SPDX-License-Identifier: ISC */
/* notify.h — telling systemd how a service is doing (sd_notify(3), through
 * libsystemd): READY=1 once the inputs and outputs are open, STATUS= with
 * the counts, WATCHDOG=1 at half of WatchdogSec, STOPPING=1 on a stop.
 * Without $NOTIFY_SOCKET every call returns at once. */
#ifndef EV_NOTIFY_H
#define EV_NOTIFY_H
#include <stdint.h>

/* Reads the environment once; the other calls call it when needed. */
void ev_notify_init(void);
/* 1 when there is someone to tell (NOTIFY_SOCKET is set). */
int ev_notify_on(void);
void ev_notify_ready(void);
void ev_notify_stopping(void);
/* STATUS=text (text: one line). */
void ev_notify_status(const char *text);
/* How often a tool must ping, in ms (half of WatchdogSec), or 0: no watchdog. */
int64_t ev_notify_watchdog_ms(void);
void ev_notify_watchdog(void);

#endif
