/* SPDX-License-Identifier: ISC */
/* page.h — the live page evhttp serves at GET /: one self-contained HTML
 * document (style and script embedded, nothing from a CDN), written in
 * lib/http/page.html and built in as a C string by the Makefile.
 *
 * What the page uses, relative to its own URL, served by evhttp (server.c,
 * evhttp(1)):
 *   GET events   with Accept: text/event-stream: Server-Sent Events, one
 *                event per message, "id:" the spool position after it
 *                (query: type=PATTERN, match=ATTR:GLOB, position=N,
 *                from=start|end, default end); the page shows what comes
 *                after it loads
 *   GET stat     the served spool as `evspool stat --json` prints it (with
 *                each cursor's lag), one JSON object; read every 2 s
 * For tests, the page keeps body[data-state] ("connecting", "live", "down"),
 * and each event's row (#events li) its data-type, data-id, data-position.
 */
#ifndef EV_PAGE_H
#define EV_PAGE_H
#include <stddef.h>

extern const char ev_http_page[];
extern const size_t ev_http_page_len;

#endif
