/* SPDX-License-Identifier: ISC */
/* whsig.h — webhook signatures: Standard Webhooks (sign and verify), GitHub's
 * X-Hub-Signature-256 (verify), and secrets read from files or the environment. */
#ifndef EV_WHSIG_H
#define EV_WHSIG_H
#include <stddef.h>

#include "http/ingest.h"

/* "v1," + base64 of 32 bytes + NUL fits in this. */
#define EV_WHSIG_SIGMAX 64
/* The tolerance Standard Webhooks recommends against replays: 5 minutes. */
#define EV_WHSIG_TOLERANCE 300
/* The largest key a secret may hold. */
#define EV_WHSIG_KEYMAX 256

/* Why a verification failed; ev_whsig_strerror names it. */
enum {
	EV_WHSIG_OK = 0,
	EV_WHSIG_MISSING = -1,   /* a header is missing or empty */
	EV_WHSIG_BADTS = -2,     /* the timestamp is not a number of seconds */
	EV_WHSIG_STALE = -3,     /* the timestamp is outside the tolerance */
	EV_WHSIG_NOMATCH = -4,   /* no signature in the header matches */
};

/* Sign as Standard Webhooks does: HMAC-SHA256 under key of
 * "msgid.ts.body", written to out as "v1,BASE64" (NUL-terminated).
 * The length written, or -1 when outsz is too small. */
int ev_whsig_sign(const unsigned char *key, size_t keylen, const char *msgid, long long ts,
    const char *body, size_t len, char *out, size_t outsz);

/* Verify a webhook-signature header (space-separated "v1,BASE64" entries;
 * other versions are skipped) against msgid, the webhook-timestamp header ts
 * and the body; the timestamp must be within tolerance_s seconds of now.
 * EV_WHSIG_OK or a negative reason. */
int ev_whsig_verify(const unsigned char *key, size_t keylen, const char *msgid, const char *ts,
    const char *sigheader, const char *body, size_t len, long long now, long long tolerance_s);

/* Verify GitHub's X-Hub-Signature-256 header, "sha256=HEX" of the HMAC-SHA256
 * of the body under the secret. EV_WHSIG_OK or a negative reason. */
int ev_whsig_github_verify(const unsigned char *key, size_t keylen, const char *header,
    const char *body, size_t len);

/* GitHub's header value for a body, "sha256=HEX" (for tests and senders). */
int ev_whsig_github_sign(const unsigned char *key, size_t keylen, const char *body, size_t len,
    char *out, size_t outsz);

const char *ev_whsig_strerror(int rc);

/* The secrets a server checks requests against: either, both or neither. */
struct ev_whsig_keys {
	const unsigned char *whkey;   /* Standard Webhooks key, or NULL */
	size_t whkeylen;
	const unsigned char *ghkey;   /* GitHub webhook secret, or NULL */
	size_t ghkeylen;
	long long tolerance_s;        /* webhook-timestamp tolerance */
};

/* Does a request (its headers and body) carry the signature the keys ask
 * for? NULL when it does, or when no key is set; else why not (static
 * text, for the 401). With a Standard Webhooks key, a webhook-signature
 * header is checked when there is one; else, with a GitHub secret, an
 * X-Hub-Signature-256 header; else the request is refused. now: Unix
 * seconds. */
const char *ev_whsig_request(const struct ev_whsig_keys *k, const struct ev_hdr *h, size_t n,
    const char *body, size_t len, long long now);

/* Read a secret named by spec: "env:NAME" is the environment variable NAME,
 * "file:PATH" or a plain PATH a file; one trailing newline is dropped, and a
 * secret of the form "whsec_BASE64" is decoded to its key bytes. Secrets never
 * come from the command line itself. The key's length, or -1 after reporting
 * (a missing file or variable, an empty or undecodable secret, one longer
 * than keysz). */
int ev_whsig_loadkey(const char *spec, unsigned char *key, size_t keysz);

/* The key bytes of a secret already in memory, decoded as ev_whsig_loadkey
 * does. The key's length, or -1 when it does not decode or fit. */
int ev_whsig_key(const char *secret, size_t len, unsigned char *key, size_t keysz);

#endif
