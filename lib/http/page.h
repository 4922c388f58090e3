/* SPDX-License-Identifier: ISC */
/* page.h — the live page evhttp serves at GET /: one self-contained HTML
 * document (style and script embedded, nothing from a CDN).
 *
 * What the page may use, served by evhttp (server.c, evhttp(1)):
 *   GET /events   with Accept: text/event-stream: Server-Sent Events, one
 *                 event per message, "id:" the spool position after it;
 *                 query: type=PATTERN (evroute's type patterns), match=ATTR:GLOB,
 *                 position=N (resume), from=start|end (default end)
 *   GET /stat     the served spool as `evspool stat --json` prints it (with
 *                 each cursor's lag), one JSON object
 */
#ifndef EV_PAGE_H
#define EV_PAGE_H
#include <stddef.h>

extern const char ev_http_page[];
extern const size_t ev_http_page_len;

#endif
