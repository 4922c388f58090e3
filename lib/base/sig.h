/* SPDX-License-Identifier: ISC */
/* sig.h — the signals a long-running tool answers (evkit(7), SIGNALS):
 * SIGTERM and SIGINT stop it cleanly (a second one ends it at once),
 * SIGUSR1 asks for the counts, SIGHUP for a reload where there is something
 * to reload (else it is ignored).
 *
 * The handlers only note the signal and write a byte to a pipe. Every wait
 * in lib/ (ev_watch_wait, a pipe's poll) also polls that pipe, so a signal
 * is acted on at once however the tool was waiting, with no race between
 * looking at the flags and going to sleep. The handlers are installed with
 * SA_RESTART: nothing else sees EINTR.
 */
#ifndef EV_SIG_H
#define EV_SIG_H
#include <signal.h>

enum { EV_SIG_STOP = 1, EV_SIG_REPORT = 2, EV_SIG_RELOAD = 4 };

/* Nonzero when a signal came that was not yet taken (a cheap test per line). */
extern volatile sig_atomic_t ev_sig_pending;

/* Install the handlers (once; later calls do nothing). 0, or -1 with errno. */
int ev_sig_init(void);
/* The pipe to poll for POLLIN along with what a wait waits for; -1 before
 * ev_sig_init. */
int ev_sig_fd(void);
/* What came since the last call (EV_SIG_* bits), and empty the pipe. A stop
 * is reported by every later call too. */
int ev_sig_take(void);
/* The signal that asked for a stop (SIGTERM or SIGINT), or 0. */
int ev_sig_stopsig(void);
/* How many stop signals came. By default a second one ends the process at
 * once (the user no longer waits for a clean stop); after
 * ev_sig_count_stops() it is only counted (evretry: skip the grace). */
int ev_sig_nstops(void);
void ev_sig_count_stops(void);

#endif
