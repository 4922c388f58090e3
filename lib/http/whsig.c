/* SPDX-License-Identifier: ISC */
/* whsig.c — webhook signatures with libsodium's HMAC-SHA256 and base64.
 *
 * Standard Webhooks (https://www.standardwebhooks.com): the sender sets
 *     webhook-id: MSGID   webhook-timestamp: SECONDS   webhook-signature: v1,BASE64 ...
 * where BASE64 is the HMAC-SHA256, under the key, of "MSGID.SECONDS.BODY".
 * The secret is written "whsec_" + base64(key). The signature header may hold
 * several space-separated entries (during key rotation); one matching "v1,"
 * entry is enough. The timestamp bounds replays.
 *
 * GitHub: X-Hub-Signature-256: sha256=HEX, the HMAC-SHA256 of the body under
 * the secret's bytes as they are. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "http/whsig.h"

static void
hmac(const unsigned char *key, size_t keylen, const char *msgid, const char *ts, size_t tslen,
    const char *body, size_t len, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	if (msgid) {
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)msgid, strlen(msgid));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, tslen);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	}
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
}

int
ev_whsig_sign(const unsigned char *key, size_t keylen, const char *msgid, long long ts,
    const char *body, size_t len, char *out, size_t outsz)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char tsbuf[32];
	int tslen = snprintf(tsbuf, sizeof tsbuf, "%lld", ts);
	size_t need = 3 + sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL);

	if (outsz < need)
		return -1;
	if (sodium_init() < 0)
		return -1;
	hmac(key, keylen, msgid, tsbuf, (size_t)tslen, body, len, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, outsz - 3, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
	return (int)strlen(out);
}

/* A Standard Webhooks timestamp: decimal seconds, nothing else. */
static int
parsets(const char *ts, long long *out)
{
	long long v = 0;

	if (!ts || !*ts)
		return -1;
	for (const char *p = ts; *p; p++) {
		if (*p < '0' || *p > '9' || v > (1LL << 50))
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

int
ev_whsig_verify(const unsigned char *key, size_t keylen, const char *msgid, const char *ts,
    const char *sigheader, const char *body, size_t len, long long now, long long tolerance_s)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES + 4];
	long long t;
	const char *p;
	int found = 0;

	if (!msgid || !*msgid || !ts || !*ts || !sigheader || !*sigheader)
		return EV_WHSIG_MISSING;
	if (parsets(ts, &t) < 0)
		return EV_WHSIG_BADTS;
	if (t < now - tolerance_s || t > now + tolerance_s)
		return EV_WHSIG_STALE;
	if (sodium_init() < 0)
		return EV_WHSIG_NOMATCH;
	hmac(key, keylen, msgid, ts, strlen(ts), body, len, mac);
	for (p = sigheader; *p;) {
		const char *e;
		size_t n, binlen = 0;

		while (*p == ' ')
			p++;
		for (e = p; *e && *e != ' '; e++)
			;
		n = (size_t)(e - p);
		if (n > 3 && memcmp(p, "v1,", 3) == 0 &&
		    sodium_base642bin(got, sizeof got, p + 3, n - 3, NULL, &binlen, NULL,
			sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    binlen == sizeof mac && sodium_memcmp(got, mac, sizeof mac) == 0)
			found = 1; /* keep going: the time taken does not say which entry matched */
		p = e;
	}
	sodium_memzero(mac, sizeof mac);
	return found ? EV_WHSIG_OK : EV_WHSIG_NOMATCH;
}

int
ev_whsig_github_sign(const unsigned char *key, size_t keylen, const char *body, size_t len,
    char *out, size_t outsz)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	if (outsz < 7 + 2 * sizeof mac + 1 || sodium_init() < 0)
		return -1;
	hmac(key, keylen, NULL, NULL, 0, body, len, mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, outsz - 7, mac, sizeof mac);
	return (int)strlen(out);
}

int
ev_whsig_github_verify(const unsigned char *key, size_t keylen, const char *header,
    const char *body, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	size_t binlen = 0;
	const char *end = NULL;
	int ok;

	if (!header || !*header)
		return EV_WHSIG_MISSING;
	if (strncmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 2 * sizeof got ||
	    sodium_init() < 0 ||
	    sodium_hex2bin(got, sizeof got, header + 7, 2 * sizeof got, NULL, &binlen, &end) != 0 ||
	    binlen != sizeof got)
		return EV_WHSIG_NOMATCH;
	hmac(key, keylen, NULL, NULL, 0, body, len, mac);
	ok = sodium_memcmp(got, mac, sizeof mac) == 0;
	sodium_memzero(mac, sizeof mac);
	return ok ? EV_WHSIG_OK : EV_WHSIG_NOMATCH;
}

const char *
ev_whsig_strerror(int rc)
{
	switch (rc) {
	case EV_WHSIG_OK: return "signature verified";
	case EV_WHSIG_MISSING: return "signature headers missing";
	case EV_WHSIG_BADTS: return "webhook-timestamp is not a number of seconds";
	case EV_WHSIG_STALE: return "webhook-timestamp outside the tolerance";
	default: return "no signature matches";
	}
}

const char *
ev_whsig_request(const struct ev_whsig_keys *k, const struct ev_hdr *h, size_t n,
    const char *body, size_t len, long long now)
{
	const char *sig;
	int rc;

	if (!k->whkey && !k->ghkey)
		return NULL;
	if (k->whkey && (sig = ev_hdr_get(h, n, "webhook-signature"))) {
		rc = ev_whsig_verify(k->whkey, k->whkeylen, ev_hdr_get(h, n, "webhook-id"),
		    ev_hdr_get(h, n, "webhook-timestamp"), sig, body, len, now, k->tolerance_s);
		return rc == EV_WHSIG_OK ? NULL : ev_whsig_strerror(rc);
	}
	if (k->ghkey && (sig = ev_hdr_get(h, n, "x-hub-signature-256"))) {
		rc = ev_whsig_github_verify(k->ghkey, k->ghkeylen, sig, body, len);
		return rc == EV_WHSIG_OK ? NULL : "X-Hub-Signature-256: no signature matches";
	}
	return k->whkey ? "a webhook-signature header is required" :
	    "an X-Hub-Signature-256 header is required";
}

int
ev_whsig_key(const char *secret, size_t len, unsigned char *key, size_t keysz)
{
	size_t binlen = 0;

	if (len == 0)
		return -1;
	if (len > 6 && memcmp(secret, "whsec_", 6) == 0) {
		if (sodium_init() < 0 ||
		    sodium_base642bin(key, keysz, secret + 6, len - 6, NULL, &binlen, NULL,
			sodium_base64_VARIANT_ORIGINAL) != 0 || binlen == 0)
			return -1;
		return (int)binlen;
	}
	if (len > keysz)
		return -1;
	memcpy(key, secret, len);
	return (int)len;
}

int
ev_whsig_loadkey(const char *spec, unsigned char *key, size_t keysz)
{
	char buf[4 * EV_WHSIG_KEYMAX];
	size_t len = 0;
	int n;

	if (strncmp(spec, "env:", 4) == 0) {
		const char *v = getenv(spec + 4);

		if (!v || !*v) {
			ev_warn("%s: environment variable not set", spec);
			return -1;
		}
		len = strlen(v);
		if (len >= sizeof buf) {
			ev_warn("%s: secret longer than %zu bytes", spec, sizeof buf - 1);
			return -1;
		}
		memcpy(buf, v, len);
	} else {
		const char *path = strncmp(spec, "file:", 5) == 0 ? spec + 5 : spec;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t r;

		if (fd < 0) {
			ev_warn("%s: open:", path);
			return -1;
		}
		while (len < sizeof buf && (r = read(fd, buf + len, sizeof buf - len)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ev_warn("%s: read:", path);
				close(fd);
				return -1;
			}
			len += (size_t)r;
		}
		close(fd);
		if (len == sizeof buf) {
			ev_warn("%s: secret longer than %zu bytes", path, sizeof buf - 1);
			sodium_memzero(buf, sizeof buf);
			return -1;
		}
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	n = ev_whsig_key(buf, len, key, keysz);
	sodium_memzero(buf, sizeof buf);
	if (n < 0)
		ev_warn("%s: %s", spec, len == 0 ? "empty secret" :
		    "secret does not decode (whsec_ needs base64) or is too long");
	return n;
}
