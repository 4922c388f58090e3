/* SPDX-License-Identifier: ISC */
/* hll.c — HyperLogLog estimates of distinct values (see hll.h). */
#include <math.h>

#include "fold/hll.h"

int
ev_hll_add(uint8_t *reg, uint64_t hash)
{
	uint32_t i = (uint32_t)(hash >> (64 - EV_HLL_BITS));
	uint64_t rest = hash << EV_HLL_BITS;
	uint8_t rank = 1;

	/* leading zeros of the remaining 52 bits, plus one */
	while (rank <= 64 - EV_HLL_BITS && !(rest & (1ULL << 63))) {
		rank++;
		rest <<= 1;
	}
	if (rank <= reg[i])
		return 0;
	reg[i] = rank;
	return 1;
}

uint64_t
ev_hll_count(const uint8_t *reg)
{
	const double m = EV_HLL_BYTES;
	const double alpha = 0.7213 / (1 + 1.079 / m);
	double sum = 0;
	unsigned zeros = 0;

	for (unsigned i = 0; i < EV_HLL_BYTES; i++) {
		sum += ldexp(1.0, -reg[i]);
		zeros += reg[i] == 0;
	}
	double e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros); /* linear counting: exact-ish for small sets */
	return (uint64_t)llround(e);
}

int
ev_hll_valid(const uint8_t *reg)
{
	for (unsigned i = 0; i < EV_HLL_BYTES; i++)
		if (reg[i] > 64 - EV_HLL_BITS + 1)
			return 0;
	return 1;
}

void
ev_hll_merge(uint8_t *reg, const uint8_t *other)
{
	for (unsigned i = 0; i < EV_HLL_BYTES; i++)
		if (other[i] > reg[i])
			reg[i] = other[i];
}
