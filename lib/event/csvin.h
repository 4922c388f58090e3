/* SPDX-License-Identifier: ISC */
/* csvin.h — CSV rows as JSON objects (RFC 4180, read with libcsv).
 *
 * The first record is the header: its cells name the members (dotted names
 * nest, as in obj.h). A column whose every non-empty cell is a JSON number
 * gives numbers, its empty cells null; any other column gives strings.
 * Knowing that takes every row, so the rows are kept until the input ends.
 */
#ifndef EV_CSVIN_H
#define EV_CSVIN_H
#include <stddef.h>

#include "base/buf.h"
#include "base/mem.h"

struct ev_csvin;

/* NULL when evkit was built without libcsv. */
struct ev_csvin *ev_csvin_new(void);
/* One input line, without its newline (a quoted cell may span lines).
 * 0; 1 when a bad record ended on this line: the reason in err, the
 * record's lines in *raw, *rawlen (valid until the next call); -1 when the
 * header is unusable (reason in err). */
int ev_csvin_line(struct ev_csvin *c, const char *line, size_t len, struct ev_buf *err,
    const char **raw, size_t *rawlen);
/* The input ended: as ev_csvin_line, for a record left open. */
int ev_csvin_end(struct ev_csvin *c, struct ev_buf *err, const char **raw, size_t *rawlen);
size_t ev_csvin_rows(const struct ev_csvin *c);
/* Append row i (from 0, the header not counted) as a JSON object. */
void ev_csvin_row(struct ev_csvin *c, size_t i, struct ev_buf *out);
void ev_csvin_free(struct ev_csvin *c);

#endif
