/* SPDX-License-Identifier: ISC */
/* sign.c — Ed25519 signatures on events, key files and keyrings.
 *
 * A signed event carries two extension attributes:
 *
 *   "evkeyid": the id of the key that signed it (a string);
 *   "evsig":   the Ed25519 signature (64 bytes, standard base64 with
 *              padding, 88 characters) of the event's canonical form.
 *
 * The canonical form is RFC 8785 (sign/jcs.h) of the whole event object
 * less its "evsig" member: "evkeyid" and every other attribute and the
 * data are covered. Since it does not depend on the bytes as they stand
 * (whitespace, member order, escapes, number spelling), a signature stays
 * good through any tool that passes events on, whether it keeps their
 * bytes (evfilter, evroute) or writes them anew; a tool that changes an
 * event (evretry adding evdeadreason) breaks its signature unless it signs
 * again with --sign-key.
 *
 * Key files are text, one "name value" a line, '#' comments, blank lines
 * ignored:
 *
 *   keyid      shop-2026          the id: 1-64 of A-Z a-z 0-9 . _ -
 *   source     /shop              a source it may sign for (repeated; a
 *                                 trailing '*' makes a prefix, "*" any)
 *   secret-key BASE64             (secret file) the 32-byte Ed25519 seed
 *   public-key BASE64             (public file) the 32-byte public key
 *
 * A keyring is a directory whose *.pub files are read, or one file; a file
 * may hold several keys, each starting at its keyid line. Verification
 * (ev_verify_line): the event must have evsig and evkeyid, the key must be
 * in the ring, the event's source must match one of the key's source
 * patterns (else it is foreign: a key for /shop cannot speak for
 * /payments), and the signature must be good over the canonical form.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/write.h"
#include "event/event.h"
#include "json/jsonscan.h"
#include "sign/jcs.h"
#include "sign/sign.h"

#define KEYID_MAX 64
#define SIG_B64 89 /* 88 characters and a NUL */

struct ev_signer *ev_sign_default;

struct key {
	char *id;
	char **sources;
	int nsources;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	int haspk, hassk;
};

struct ev_signer {
	struct key k;
	char idjson[KEYID_MAX + 3];
	struct ev_jcs *jcs;
	struct ev_buf line, canon;
};

struct ev_keyring {
	struct key *keys;
	int nkeys;
	struct ev_jcs *jcs;
	struct ev_jpath *paths[3]; /* .evsig, .evkeyid, .source */
	struct ev_buf canon, tmp;
};

static int
sodium(void)
{
	if (sodium_init() < 0) {
		ev_warn("libsodium: cannot initialise");
		errno = EIO;
		return -1;
	}
	return 0;
}

static int
keyidok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > KEYID_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int
ev_source_match(const char *pattern, const char *source, size_t n)
{
	size_t pn = strlen(pattern);

	if (pn > 0 && pattern[pn - 1] == '*')
		return n >= pn - 1 && memcmp(pattern, source, pn - 1) == 0;
	return pn == n && memcmp(pattern, source, n) == 0;
}

static void
keyfree(struct key *k)
{
	free(k->id);
	for (int i = 0; i < k->nsources; i++)
		free(k->sources[i]);
	free(k->sources);
	sodium_memzero(k->sk, sizeof k->sk);
}

static int
base64key(const char *path, size_t no, const char *v, unsigned char *out, size_t n)
{
	size_t got;

	if (sodium_base642bin(out, n, v, strlen(v), NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) < 0 || got != n) {
		ev_linewarn(path, no, "not a base64 key of %zu bytes", n);
		return -1;
	}
	return 0;
}

/* One line of a key file after its keyid: a source, or the key itself.
 * 0, or -1 (reported). */
static int
keyline(const char *path, size_t no, struct key *k, const char *name, const char *v, int secret)
{
	if (strcmp(name, "source") == 0 && *v) {
		k->sources = ev_reallocarray(k->sources, (size_t)k->nsources + 1, sizeof *k->sources);
		k->sources[k->nsources++] = ev_strdup(v);
	} else if (strcmp(name, "public-key") == 0 && !secret) {
		if (base64key(path, no, v, k->pk, sizeof k->pk) < 0)
			return -1;
		k->haspk = 1;
	} else if (strcmp(name, "secret-key") == 0 && secret) {
		unsigned char seed[crypto_sign_SEEDBYTES];
		if (base64key(path, no, v, seed, sizeof seed) < 0)
			return -1;
		crypto_sign_seed_keypair(k->pk, k->sk, seed);
		sodium_memzero(seed, sizeof seed);
		k->haspk = k->hassk = 1;
	} else {
		ev_linewarn(path, no, "'%s': not a %s key file line (keyid, source, %s)",
		    name, secret ? "secret" : "public", secret ? "secret-key" : "public-key");
		return -1;
	}
	return 0;
}

/* A line split into its name and value (blanks trimmed); 0 for a comment
 * or a blank line. */
static int
splitline(char *line, ssize_t len, char **name, char **v)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	*name = line + strspn(line, " \t");
	if (**name == '#' || **name == '\0')
		return 0;
	*v = *name + strcspn(*name, " \t");
	if (**v)
		*(*v)++ = '\0';
	*v += strspn(*v, " \t");
	return 1;
}

/* Read the keys of one file into *keys; secret: a secret key file. */
static int
readkeys(const char *path, FILE *f, struct key **keys, int *nkeys, int secret)
{
	char *line = NULL, *name, *v;
	size_t cap = 0, no = 0;
	ssize_t len;
	struct key *k = NULL;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		no++;
		if (!splitline(line, len, &name, &v))
			continue;
		if (strcmp(name, "keyid") == 0) {
			if (!keyidok(v)) {
				ev_linewarn(path, no, "keyid '%s': use 1-64 of A-Z a-z 0-9 . _ -", v);
				rc = -1;
				break;
			}
			*keys = ev_reallocarray(*keys, (size_t)*nkeys + 1, sizeof **keys);
			k = &(*keys)[(*nkeys)++];
			memset(k, 0, sizeof *k);
			k->id = ev_strdup(v);
		} else if (!k) {
			ev_linewarn(path, no, "'%s' before any keyid line", name);
			rc = -1;
		} else {
			rc = keyline(path, no, k, name, v, secret);
		}
	}
	if (rc == 0 && ferror(f)) {
		ev_warn("%s: read:", path);
		rc = -1;
	}
	for (int i = 0; rc == 0 && i < *nkeys; i++)
		if (!(*keys)[i].haspk) {
			ev_warn("%s: key '%s' has no %s", path, (*keys)[i].id,
			    secret ? "secret-key" : "public-key");
			rc = -1;
		}
	sodium_memzero(line, cap);
	free(line);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

struct ev_signer *
ev_signer_load(const char *path)
{
	struct key *keys = NULL;
	int nkeys = 0, fd;
	struct stat st;
	FILE *f;

	if (sodium() < 0)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		ev_warn("%s: cannot open the signing key:", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		ev_warn("%s: %s", path, S_ISREG(st.st_mode) ? "a secret key that others may read "
		    "or write is refused (chmod 600 it)" : "not a regular file");
		close(fd);
		errno = EACCES;
		return NULL;
	}
	if (!(f = fdopen(fd, "r"))) {
		ev_warn("%s: cannot open the signing key:", path);
		close(fd);
		return NULL;
	}
	int rc = readkeys(path, f, &keys, &nkeys, 1);
	fclose(f);
	if (rc == 0 && nkeys != 1) {
		ev_warn("%s: a signing key file holds one key (it has %d)", path, nkeys);
		errno = EINVAL;
		rc = -1;
	}
	if (rc < 0) {
		for (int i = 0; i < nkeys; i++)
			keyfree(&keys[i]);
		free(keys);
		return NULL;
	}
	struct ev_signer *s = ev_calloc(1, sizeof *s);
	s->k = keys[0];
	free(keys);
	snprintf(s->idjson, sizeof s->idjson, "\"%s\"", s->k.id);
	s->jcs = ev_jcs_new();
	return s;
}

void
ev_signer_free(struct ev_signer *s)
{
	if (!s)
		return;
	keyfree(&s->k);
	ev_jcs_free(s->jcs);
	ev_buf_free(&s->line);
	ev_buf_free(&s->canon);
	free(s);
}

int
ev_sign_line(struct ev_signer *s, struct ev_buf *out, const char *line, size_t len,
    const char **why)
{
	unsigned char sig[crypto_sign_BYTES];
	char json[SIG_B64 + 2];

	ev_buf_reset(&s->line);
	if (ev_event_setattr(&s->line, line, len, "evkeyid", s->idjson) < 0) {
		*why = "not a JSON object";
		return -1;
	}
	ev_buf_reset(&s->canon);
	if (ev_jcs(s->jcs, &s->canon, s->line.p, s->line.len, "evsig", why) < 0)
		return -1;
	crypto_sign_detached(sig, NULL, (const unsigned char *)s->canon.p, s->canon.len, s->k.sk);
	json[0] = '"';
	sodium_bin2base64(json + 1, SIG_B64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
	strcat(json, "\"");
	if (ev_event_setattr(out, s->line.p, s->line.len, "evsig", json) < 0) {
		*why = "not a JSON object";
		return -1;
	}
	return 0;
}

static int
loadfile(struct ev_keyring *k, const char *path)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		ev_warn("%s: cannot open the keyring:", path);
		return -1;
	}
	rc = readkeys(path, f, &k->keys, &k->nkeys, 0);
	fclose(f);
	return rc;
}

static int
pubname(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".pub") == 0;
}

struct ev_keyring *
ev_keyring_load(const char *path)
{
	struct ev_keyring *k;
	struct stat st;
	int rc = 0;

	if (sodium() < 0)
		return NULL;
	if (stat(path, &st) < 0) {
		ev_warn("%s: cannot open the keyring:", path);
		return NULL;
	}
	k = ev_calloc(1, sizeof *k);
	if (S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, pubname, alphasort);
		if (n < 0) {
			ev_warn("%s: cannot read the keyring:", path);
			rc = -1;
			n = 0;
		}
		for (int i = 0; i < n; i++) {
			char *p = ev_malloc(strlen(path) + strlen(names[i]->d_name) + 2);
			sprintf(p, "%s/%s", path, names[i]->d_name);
			if (rc == 0 && loadfile(k, p) < 0)
				rc = -1;
			free(p);
			free(names[i]);
		}
		free(names);
	} else {
		rc = loadfile(k, path);
	}
	for (int i = 0; rc == 0 && i < k->nkeys; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(k->keys[i].id, k->keys[j].id) == 0) {
				ev_warn("%s: key '%s' is there twice", path, k->keys[i].id);
				rc = -1;
				break;
			}
	if (rc == 0 && k->nkeys == 0) {
		ev_warn("%s: no keys (a keyring is a directory of *.pub files, or one such file)",
		    path);
		rc = -1;
	}
	if (rc < 0) {
		ev_keyring_free(k);
		errno = EINVAL;
		return NULL;
	}
	k->jcs = ev_jcs_new();
	static const char *const paths[] = { ".evsig", ".evkeyid", ".source" };
	for (int i = 0; i < 3; i++)
		k->paths[i] = ev_jpath_compile(paths[i], NULL);
	return k;
}

void
ev_keyring_free(struct ev_keyring *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->nkeys; i++)
		keyfree(&k->keys[i]);
	free(k->keys);
	for (int i = 0; i < 3; i++)
		ev_jpath_free(k->paths[i]);
	ev_jcs_free(k->jcs);
	ev_buf_free(&k->canon);
	ev_buf_free(&k->tmp);
	free(k);
}

static int
why(struct ev_buf *b, const char *msg)
{
	ev_buf_adds(b, msg);
	return -1;
}

int
ev_verify_line(struct ev_keyring *k, const char *line, size_t len, struct ev_buf *w)
{
	struct ev_jval v[3];
	unsigned char sig[crypto_sign_BYTES];
	const char *id, *src, *bad, *b64;
	size_t idn, srcn, n, b64n;
	struct key *key = NULL;
	char idbuf[KEYID_MAX + 1];

	ev_buf_reset(w);
	ev_buf_reset(&k->canon);
	if (ev_jcs(k->jcs, &k->canon, line, len, "evsig", &bad) < 0)
	{
		ev_buf_printf(w, "signature: cannot be canonicalized: %s", bad);
		return -1;
	}
	if (ev_json_scan(line, len, k->paths, 3, v, NULL) < 0)
		return why(w, "signature: not JSON");
	if (v[0].type == EV_J_MISSING)
		return why(w, "unsigned event (no evsig)");
	if (v[0].type != EV_J_STRING)
		return why(w, "evsig is not a string");
	b64 = ev_jval_text(&v[0], &k->tmp, &b64n);
	if (sodium_base642bin(sig, sizeof sig, b64, b64n, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) < 0 || n != sizeof sig)
		return why(w, "evsig is not a base64 Ed25519 signature");
	if (v[1].type != EV_J_STRING)
		return why(w, "signed event without an evkeyid string");
	id = ev_jval_text(&v[1], &k->tmp, &idn);
	if (idn > KEYID_MAX)
		return why(w, "unknown key (an evkeyid longer than any key id)");
	memcpy(idbuf, id, idn);
	idbuf[idn] = '\0';
	for (int i = 0; i < k->nkeys && !key; i++)
		if (strlen(k->keys[i].id) == idn && memcmp(k->keys[i].id, id, idn) == 0)
			key = &k->keys[i];
	if (!key)
	{
		ev_buf_printf(w, "unknown key '%s'", idbuf);
		return -1;
	}
	src = v[2].type == EV_J_STRING ? ev_jval_text(&v[2], &k->tmp, &srcn) : "";
	if (v[2].type != EV_J_STRING)
		srcn = 0;
	int ok = 0;
	for (int i = 0; i < key->nsources && !ok; i++)
		ok = ev_source_match(key->sources[i], src, srcn);
	if (!ok) {
		ev_buf_printf(w, "foreign source '%.*s': key '%s' does not sign for it",
		    (int)(srcn > 200 ? 200 : srcn), src, idbuf);
		return -1;
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)k->canon.p, k->canon.len,
	    key->pk) != 0)
	{
		ev_buf_printf(w, "bad signature (key '%s')", idbuf);
		return -1;
	}
	return 0;
}

static int
writekeyfile(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0) {
		ev_warn("%s: cannot create:", path);
		return -1;
	}
	if (ev_write_all(fd, text, strlen(text), NULL) < 0 || fsync(fd) < 0) {
		ev_warn("%s: write:", path);
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		ev_warn("%s: close:", path);
		unlink(path);
		return -1;
	}
	return 0;
}

int
ev_keygen(const char *path, const char *keyid, char *const *sources, int nsources)
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_SEEDBYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct ev_buf sec = { 0 }, pub = { 0 };
	char *pubpath;
	int rc = -1;

	if (sodium() < 0)
		return -1;
	if (!keyidok(keyid)) {
		ev_warn("keyid '%s': use 1-64 of A-Z a-z 0-9 . _ -", keyid);
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < nsources; i++)
		if (!sources[i][0] || strpbrk(sources[i], "\n\r")) {
			ev_warn("source '%s': not a source pattern", sources[i]);
			errno = EINVAL;
			return -1;
		}
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	ev_buf_printf(&sec, "# evkit Ed25519 signing key (evkit(7), SIGNED EVENTS): keep it secret\n"
	    "keyid %s\n", keyid);
	ev_buf_printf(&pub, "# evkit Ed25519 public key: put it in the readers' --verify-keys "
	    "directory\nkeyid %s\n", keyid);
	for (int i = 0; i < nsources; i++) {
		ev_buf_printf(&sec, "source %s\n", sources[i]);
		ev_buf_printf(&pub, "source %s\n", sources[i]);
	}
	sodium_bin2base64(b64, sizeof b64, seed, sizeof seed, sodium_base64_VARIANT_ORIGINAL);
	ev_buf_printf(&sec, "secret-key %s\n", b64);
	sodium_bin2base64(b64, sizeof b64, pk, sizeof pk, sodium_base64_VARIANT_ORIGINAL);
	ev_buf_printf(&pub, "public-key %s\n", b64);
	pubpath = ev_malloc(strlen(path) + 5);
	sprintf(pubpath, "%s.pub", path);
	if (writekeyfile(path, 0600, sec.p) == 0) {
		if (writekeyfile(pubpath, 0644, pub.p) == 0)
			rc = 0;
		else
			unlink(path);
	}
	free(pubpath);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(sec.p, sec.len);
	ev_buf_free(&sec);
	ev_buf_free(&pub);
	return rc;
}
