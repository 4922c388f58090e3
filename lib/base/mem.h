/* SPDX-License-Identifier: ISC */
/* mem.h — allocation that never returns NULL. */
#ifndef EV_MEM_H
#define EV_MEM_H
#include <stddef.h>

void *ev_malloc(size_t n);
void *ev_calloc(size_t nmemb, size_t size);
void *ev_realloc(void *p, size_t n);
void *ev_reallocarray(void *p, size_t nmemb, size_t size);
char *ev_strdup(const char *s);
char *ev_strndup(const char *s, size_t n);

#endif
