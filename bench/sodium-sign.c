/* SPDX-License-Identifier: ISC */
/* sodium-sign — libsodium's bare Ed25519 on each input line, as it stands:
 * the baseline the signing and verifying rows of bench/case-80-sign.sh are
 * compared with (the cryptography alone, no canonical form, no JSON).
 *
 *   sodium-sign sign   < lines > signed    each line as "SIG LINE"
 *   sodium-sign verify < signed > lines    each line checked; exit 1 if one is bad
 *
 * SIG is the 64-byte detached signature in standard base64; the key is made
 * from a fixed seed (a benchmark, not a key to keep).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define B64 sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)

int
main(int argc, char *argv[])
{
	unsigned char seed[crypto_sign_SEEDBYTES] = { 1 }, pk[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
	char b64[B64], *line = NULL;
	size_t cap = 0, got;
	ssize_t n;
	int verify, bad = 0;

	if (argc != 2 || (strcmp(argv[1], "sign") != 0 && strcmp(argv[1], "verify") != 0)) {
		fputs("usage: sodium-sign sign | verify\n", stderr);
		return 2;
	}
	verify = argv[1][0] == 'v';
	if (sodium_init() < 0)
		return 2;
	crypto_sign_seed_keypair(pk, sk, seed);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!verify) {
			crypto_sign_detached(sig, NULL, (unsigned char *)line, (size_t)n, sk);
			sodium_bin2base64(b64, sizeof b64, sig, sizeof sig,
			    sodium_base64_VARIANT_ORIGINAL);
			printf("%s %s\n", b64, line);
			continue;
		}
		char *sp = strchr(line, ' ');
		if (!sp || sodium_base642bin(sig, sizeof sig, line, (size_t)(sp - line), NULL, &got,
		    NULL, sodium_base64_VARIANT_ORIGINAL) < 0 || got != sizeof sig ||
		    crypto_sign_verify_detached(sig, (unsigned char *)sp + 1,
		    (size_t)(n - (sp + 1 - line)), pk) != 0) {
			bad = 1;
			continue;
		}
		printf("%s\n", sp + 1);
	}
	free(line);
	return ferror(stdout) || fflush(stdout) ? 2 : bad;
}
