/* SPDX-License-Identifier: ISC */
/* sign.h — signed events: Ed25519 (libsodium) over the event's canonical
 * form, key files, and a keyring of the keys readers trust, each for the
 * sources it may sign for. The formats are described in sign.c and evkit(7).
 */
#ifndef EV_SIGN_H
#define EV_SIGN_H
#include <stddef.h>

#include "base/buf.h"

struct ev_signer;  /* a secret key and its id (--sign-key FILE) */
struct ev_keyring; /* public keys by id (--verify-keys DIR|FILE) */

/* --sign-key: the sinks a tool opens sign what they write with it
 * (io/loc.c), except --rejects, which keeps lines verbatim. */
extern struct ev_signer *ev_sign_default;

/* Read a secret key file; NULL after reporting (errno set). A file that
 * others may read or write is refused, as ssh(1) refuses one. */
struct ev_signer *ev_signer_load(const char *path);
void ev_signer_free(struct ev_signer *s);
/* Append line, signed: evkeyid set to the key's id and evsig to the
 * signature (either replaced where the line has one), both as last
 * members otherwise; the line's other bytes are kept. 0, or -1 with the
 * reason in *why (nothing appended). */
int ev_sign_line(struct ev_signer *s, struct ev_buf *out, const char *line, size_t len,
    const char **why);

/* A directory (every *.pub file in it) or one file of public keys; NULL
 * after reporting. */
struct ev_keyring *ev_keyring_load(const char *path);
void ev_keyring_free(struct ev_keyring *k);
/* 0 when line carries a good signature by a key of the ring that may sign
 * for the event's source; else -1 with the reason in why (reset first):
 * "unsigned event", "unknown key 'k'", "source '/x' is not signed for by
 * key 'k'", "bad signature", ... */
int ev_verify_line(struct ev_keyring *k, const char *line, size_t len, struct ev_buf *why);

/* Make a key pair: path (the secret key, mode 0600, never overwritten) and
 * path.pub (its public half, for a keyring), with keyid and the source
 * patterns it may sign for. 0, or -1 after reporting. */
int ev_keygen(const char *path, const char *keyid, char *const *sources, int nsources);

/* Does source match pattern ("*": any; "/shop*": a prefix; else equal)? */
int ev_source_match(const char *pattern, const char *source, size_t n);

#endif
