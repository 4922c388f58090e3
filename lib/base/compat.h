/* SPDX-License-Identifier: ISC */
/* compat.h — the few things a BSD or macOS libc spells differently.
 * Include it after the system headers. */
#ifndef EV_COMPAT_H
#define EV_COMPAT_H

#if defined(__APPLE__)
/* macOS declares no fdatasync(2); fsync(2) does all it does, and more. */
#include <unistd.h>
#define fdatasync(fd) fsync(fd)
#endif

#endif
