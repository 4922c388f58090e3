/* SPDX-License-Identifier: ISC */
/* keystate.h — a key set kept in a file across restarts (evdedupe --state).
 *
 * The file is an append-only log of the keys a run added, in the order it
 * added them; loading replays it into a struct ev_keyset, which forgets by
 * its own windows. ev_keystate_commit() appends the keys noted since the
 * last commit and makes them durable; a caller commits only after the
 * events those keys belong to are durable (see input.h), so the file never
 * holds a key whose event was not output. The format is described at the
 * top of keystate.c and in evdedupe(1).
 */
#ifndef EV_KEYSTATE_H
#define EV_KEYSTATE_H
#include <stddef.h>

#include "dedupe/keyset.h"
#include "base/opts.h"

struct ev_keystate;

/* Open FILE (created when absent), lock it, and load its keys into ks.
 * keydef names the key definition: a file made with another is refused.
 * NULL after reporting why (errno set). */
struct ev_keystate *ev_keystate_open(const char *path, const char *keydef, enum ev_sync sync,
    struct ev_keyset *ks);
/* Keys loaded from the file. */
size_t ev_keystate_loaded(const struct ev_keystate *st);
/* A key ev_keyset_add() just added. */
void ev_keystate_note(struct ev_keystate *st, const struct ev_keyent *e);
/* Append the noted keys durably (fdatasync unless sync is none) and compact
 * the file when it has grown to twice the keys remembered. 0, or -1 after
 * reporting (errno set; every later commit fails too). A void * for
 * ev_input_add_commit(). */
int ev_keystate_commit(void *st);
/* Close without committing: keys noted since the last commit are not kept. */
int ev_keystate_close(struct ev_keystate *st);

#endif
