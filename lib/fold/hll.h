/* SPDX-License-Identifier: ISC */
/* hll.h — HyperLogLog: how many distinct values, in a fixed 4 KiB.
 *
 * 2^12 registers of one byte each (the largest run of leading zeros seen
 * in the 52 bits of a 64-bit hash past its 12 register bits, plus one);
 * the estimate is Flajolet et al.'s with the linear-counting correction
 * for small sets, so its standard error is 1.04 / sqrt(4096), about 1.6%,
 * and below about 10,000 values it is near exact. Registers are kept as
 * they are (EV_HLL_BYTES bytes) wherever the state is stored.
 */
#ifndef EV_HLL_H
#define EV_HLL_H
#include <stddef.h>
#include <stdint.h>

#define EV_HLL_BITS 12
#define EV_HLL_BYTES (1u << EV_HLL_BITS)

/* Note one value by its 64-bit hash; 1 when a register changed. */
int ev_hll_add(uint8_t *reg, uint64_t hash);
/* The estimated number of distinct values noted. */
uint64_t ev_hll_count(const uint8_t *reg);
/* 1 when every register holds a value ev_hll_add can set (at most
 * 64 - EV_HLL_BITS + 1), else 0. */
int ev_hll_valid(const uint8_t *reg);
/* reg becomes the union of reg and other. */
void ev_hll_merge(uint8_t *reg, const uint8_t *other);

#endif
