/* SPDX-License-Identifier: ISC */
/* store.c — evfold's views in SQLite.
 *
 * The layout (also in evfold(1)), for anyone who opens the database with
 * sqlite3(1):
 *
 *   evfold_views(name TEXT PRIMARY KEY, def TEXT, hash TEXT, input TEXT,
 *                pos INTEGER, watermark INTEGER, commits INTEGER, windowed INTEGER)
 *       one row per view: def is the fold's definition as JSON (reducer,
 *       key, built-in folds, window), hash a hash of def, input the spool
 *       and cursor whose position pos (a byte offset, after the last event
 *       folded) is kept here, watermark the latest event time seen (Unix
 *       ms), commits the number of transactions so far.
 *   "NAME"(key TEXT PRIMARY KEY, state TEXT, aux BLOB)
 *       a view: one row per key, its state as JSON text (query it with
 *       json_extract), aux what the JSON leaves out (the registers of
 *       --distinct, the count behind --avg, a sum that is not finite; a
 *       reducer's open session's events, see fold.c), or NULL.
 *   "NAME"(key TEXT, start TEXT, end TEXT, closed INTEGER, state TEXT, aux BLOB,
 *          PRIMARY KEY (key, start))
 *       a windowed view: one row per key and window, start and end in
 *       RFC 3339 UTC with milliseconds; closed is 1 once the watermark
 *       passed the end and the final state was emitted.
 *
 * The database is in WAL mode: readers (sqlite3, evfold --get) never block
 * the fold and see the view as of its last commit. synchronous=FULL makes
 * each commit durable before the fold goes on (NORMAL... would lose the
 * last commits on a power cut; OFF with --sync none).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "base/err.h"
#include "base/mem.h"
#include "fold/store.h"

struct ev_store {
	sqlite3 *db;
	char *path;
	int intx;
};

struct ev_vtab {
	struct ev_store *st;
	char *name;
	int windowed;
	sqlite3_stmt *get, *put, *ins, *del, *each, *eachkey, *eachopen, *any;
	sqlite3_stmt *putn, *insn; /* EV_VTAB_PUTN rows a statement (no windows) */
	char sbuf[32], ebuf[32];
};

static int
fail(struct ev_store *st, const char *what)
{
	int code = sqlite3_errcode(st->db);

	ev_warn("%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
	errno = code == SQLITE_BUSY || code == SQLITE_LOCKED ? EBUSY :
	    code == SQLITE_FULL ? ENOSPC : code == SQLITE_IOERR ? EIO :
	    code == SQLITE_CANTOPEN || code == SQLITE_PERM || code == SQLITE_READONLY ? EACCES :
	    EINVAL;
	return -1;
}

static int
exec(struct ev_store *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(st, sql);
	return 0;
}

static sqlite3_stmt *
prep(struct ev_store *st, const char *sql)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		fail(st, sql);
		return NULL;
	}
	return s;
}

struct ev_store *
ev_store_open(const char *path, int rdonly, enum ev_sync sync)
{
	struct ev_store *st = ev_calloc(1, sizeof *st);
	int flags = rdonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	st->path = ev_strdup(path);
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		fail(st, "open");
		goto bad;
	}
	/* Another process's transaction holds the lock only for a moment. */
	sqlite3_busy_timeout(st->db, 10000);
	if (rdonly)
		return st;
	if (exec(st, "PRAGMA journal_mode=WAL") < 0 ||
	    exec(st, sync == EV_SYNC_NONE ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL") < 0 ||
	    exec(st, "PRAGMA cache_size=-65536") < 0 ||
	    exec(st, "CREATE TABLE IF NOT EXISTS evfold_views(name TEXT PRIMARY KEY, "
	    "def TEXT NOT NULL, hash TEXT NOT NULL, input TEXT, pos INTEGER, watermark INTEGER, "
	    "commits INTEGER NOT NULL DEFAULT 0, windowed INTEGER NOT NULL DEFAULT 0)") < 0)
		goto bad;
	return st;
bad:
	ev_store_close(st);
	return NULL;
}

void
ev_store_close(struct ev_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

const char *
ev_store_path(const struct ev_store *st)
{
	return st->path;
}

void
ev_viewmeta_free(struct ev_viewmeta *m)
{
	free(m->def);
	free(m->hash);
	free(m->input);
	memset(m, 0, sizeof *m);
}

static char *
coltext(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? ev_strdup((const char *)t) : NULL;
}

int
ev_store_view_get(struct ev_store *st, const char *name, struct ev_viewmeta *m)
{
	sqlite3_stmt *s;
	int r;

	memset(m, 0, sizeof *m);
	/* a database that evfold never wrote has no evfold_views */
	if (sqlite3_prepare_v2(st->db, "SELECT def, hash, input, pos, watermark, commits, windowed "
	    "FROM evfold_views WHERE name = ?", -1, &s, NULL) != SQLITE_OK) {
		if (strstr(sqlite3_errmsg(st->db), "no such table"))
			return 0;
		return fail(st, "read evfold_views");
	}
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		m->def = coltext(s, 0);
		m->hash = coltext(s, 1);
		m->input = coltext(s, 2);
		m->haspos = sqlite3_column_type(s, 3) != SQLITE_NULL;
		m->pos = (uint64_t)sqlite3_column_int64(s, 3);
		m->watermark = sqlite3_column_type(s, 4) == SQLITE_NULL ? INT64_MIN :
		    sqlite3_column_int64(s, 4);
		m->commits = sqlite3_column_int64(s, 5);
		m->windowed = sqlite3_column_int(s, 6);
		r = 1;
	} else if (r == SQLITE_DONE) {
		r = 0;
	} else {
		r = fail(st, "read evfold_views");
	}
	sqlite3_finalize(s);
	return r;
}

char **
ev_store_views(struct ev_store *st)
{
	sqlite3_stmt *s;
	char **v = ev_calloc(1, sizeof *v);
	size_t n = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT name FROM evfold_views ORDER BY name", -1, &s,
	    NULL) != SQLITE_OK)
		return v;
	while (sqlite3_step(s) == SQLITE_ROW) {
		v = ev_reallocarray(v, n + 2, sizeof *v);
		v[n++] = coltext(s, 0);
		v[n] = NULL;
	}
	sqlite3_finalize(s);
	return v;
}

/* "name" as an SQL identifier (names are checked: no quotes in them). */
static void
ident(struct ev_buf *b, const char *name)
{
	ev_buf_addc(b, '"');
	ev_buf_adds(b, name);
	ev_buf_addc(b, '"');
}

int
ev_store_view_make(struct ev_store *st, const char *name, const struct ev_viewmeta *m)
{
	struct ev_buf sql = { 0 };
	sqlite3_stmt *s = NULL;

	if (exec(st, "BEGIN IMMEDIATE") < 0)
		return -1;
	ev_buf_adds(&sql, "DROP TABLE IF EXISTS ");
	ident(&sql, name);
	if (exec(st, sql.p) < 0)
		goto bad;
	ev_buf_reset(&sql);
	ev_buf_adds(&sql, "CREATE TABLE ");
	ident(&sql, name);
	ev_buf_adds(&sql, m->windowed ?
	    "(key TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL, closed INTEGER NOT NULL, "
	    "state TEXT NOT NULL, aux BLOB, PRIMARY KEY (key, start)) WITHOUT ROWID" :
	    "(key TEXT PRIMARY KEY, state TEXT NOT NULL, aux BLOB) WITHOUT ROWID");
	if (exec(st, sql.p) < 0)
		goto bad;
	if (!(s = prep(st, "INSERT OR REPLACE INTO evfold_views(name, def, hash, input, pos, "
	    "watermark, commits, windowed) VALUES (?, ?, ?, ?, ?, ?, 0, ?)")))
		goto bad;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, m->def, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->hash, -1, SQLITE_STATIC);
	if (m->input)
		sqlite3_bind_text(s, 4, m->input, -1, SQLITE_STATIC);
	if (m->haspos)
		sqlite3_bind_int64(s, 5, (sqlite3_int64)m->pos);
	if (m->watermark != INT64_MIN)
		sqlite3_bind_int64(s, 6, m->watermark);
	sqlite3_bind_int(s, 7, m->windowed);
	if (sqlite3_step(s) != SQLITE_DONE) {
		fail(st, "write evfold_views");
		goto bad;
	}
	sqlite3_finalize(s);
	ev_buf_free(&sql);
	return exec(st, "COMMIT");
bad:
	sqlite3_finalize(s);
	ev_buf_free(&sql);
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
ev_store_view_swap(struct ev_store *st, const char *from, const char *to)
{
	struct ev_buf sql = { 0 };
	int r = -1;

	if (exec(st, "BEGIN IMMEDIATE") < 0)
		return -1;
	ev_buf_adds(&sql, "DROP TABLE IF EXISTS ");
	ident(&sql, to);
	ev_buf_adds(&sql, "; ALTER TABLE ");
	ident(&sql, from);
	ev_buf_adds(&sql, " RENAME TO ");
	ident(&sql, to);
	ev_buf_adds(&sql, "; DELETE FROM evfold_views WHERE name = '");
	ev_buf_adds(&sql, to);
	ev_buf_adds(&sql, "'; UPDATE evfold_views SET name = '");
	ev_buf_adds(&sql, to);
	ev_buf_adds(&sql, "' WHERE name = '");
	ev_buf_adds(&sql, from);
	ev_buf_adds(&sql, "'");
	if (exec(st, sql.p) == 0 && exec(st, "COMMIT") == 0)
		r = 0;
	else
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	ev_buf_free(&sql);
	return r;
}

struct ev_vtab *
ev_vtab_open(struct ev_store *st, const char *name, int windowed)
{
	struct ev_vtab *t = ev_calloc(1, sizeof *t);
	struct ev_buf q = { 0 };
	const char *cols = windowed ? "key, start, end, closed, state, aux" : "key, state, aux";
	const char *order = windowed ? " ORDER BY key, start" : " ORDER BY key";

	t->st = st;
	t->name = ev_strdup(name);
	t->windowed = windowed;
#define PREP(field, ...) do { \
		ev_buf_reset(&q); \
		ev_buf_printf(&q, __VA_ARGS__); \
		if (!(t->field = prep(st, q.p))) \
			goto bad; \
	} while (0)
	PREP(get, "SELECT %s FROM \"%s\" WHERE key = ?%s", cols, name,
	    windowed ? " AND start = ?" : "");
	PREP(each, "SELECT %s FROM \"%s\"%s", cols, name, order);
	PREP(any, "SELECT 1 FROM \"%s\" LIMIT 1", name);
	PREP(eachkey, "SELECT %s FROM \"%s\" WHERE key = ?%s", cols, name, order);
	if (windowed) {
		PREP(put, "INSERT INTO \"%s\"(key, start, end, closed, state, aux) "
		    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key, start) DO UPDATE SET "
		    "end = excluded.end, closed = excluded.closed, state = excluded.state, "
		    "aux = excluded.aux", name);
		PREP(ins, "INSERT INTO \"%s\"(key, start, end, closed, state, aux) "
		    "VALUES (?, ?, ?, ?, ?, ?)", name);
		PREP(del, "DELETE FROM \"%s\" WHERE key = ? AND start = ?", name);
		PREP(eachopen, "SELECT %s FROM \"%s\" WHERE closed = 0%s", cols, name, order);
	} else {
		PREP(put, "INSERT INTO \"%s\"(key, state, aux) VALUES (?, ?, ?) "
		    "ON CONFLICT(key) DO UPDATE SET state = excluded.state, aux = excluded.aux", name);
		PREP(ins, "INSERT INTO \"%s\"(key, state, aux) VALUES (?, ?, ?)", name);
		/* many rows a statement: SQLite's per-statement work is paid once,
		 * and its cursor stays where the last row went (rows come in key
		 * order) */
		struct ev_buf v = { 0 };
		for (int i = 0; i < EV_VTAB_PUTN; i++)
			ev_buf_adds(&v, i ? ",(?,?,?)" : "(?,?,?)");
		PREP(insn, "INSERT INTO \"%s\"(key, state, aux) VALUES %s", name, v.p);
		PREP(putn, "INSERT INTO \"%s\"(key, state, aux) VALUES %s "
		    "ON CONFLICT(key) DO UPDATE SET state = excluded.state, aux = excluded.aux", name, v.p);
		ev_buf_free(&v);
		PREP(del, "DELETE FROM \"%s\" WHERE key = ?", name);
	}
#undef PREP
	ev_buf_free(&q);
	return t;
bad:
	ev_buf_free(&q);
	ev_vtab_close(t);
	return NULL;
}

void
ev_vtab_close(struct ev_vtab *t)
{
	if (!t)
		return;
	sqlite3_finalize(t->get);
	sqlite3_finalize(t->put);
	sqlite3_finalize(t->ins);
	sqlite3_finalize(t->insn);
	sqlite3_finalize(t->putn);
	sqlite3_finalize(t->any);
	sqlite3_finalize(t->del);
	sqlite3_finalize(t->each);
	sqlite3_finalize(t->eachkey);
	sqlite3_finalize(t->eachopen);
	free(t->name);
	free(t);
}

static const char *
stamp(int64_t ms, char *buf)
{
	ev_time_format(ms, buf);
	return buf;
}

static int64_t
unstamp(sqlite3_stmt *s, int i)
{
	const char *p = (const char *)sqlite3_column_text(s, i);
	int64_t ms = 0;

	if (p)
		ev_time_parse(p, strlen(p), &ms);
	return ms;
}

static void
readrow(struct ev_vtab *t, sqlite3_stmt *s, struct ev_row *r)
{
	int i = 0;

	memset(r, 0, sizeof *r);
	r->key = (const char *)sqlite3_column_text(s, i);
	r->klen = (size_t)sqlite3_column_bytes(s, i++);
	if (t->windowed) {
		r->start = unstamp(s, i++);
		r->end = unstamp(s, i++);
		r->closed = sqlite3_column_int(s, i++);
	}
	r->state = (const char *)sqlite3_column_text(s, i);
	r->slen = (size_t)sqlite3_column_bytes(s, i++);
	r->aux = sqlite3_column_blob(s, i);
	r->auxlen = (size_t)sqlite3_column_bytes(s, i);
}

int
ev_vtab_get(struct ev_vtab *t, const char *key, size_t klen, int64_t start, struct ev_row *r)
{
	int rc;

	sqlite3_reset(t->get);
	sqlite3_bind_text(t->get, 1, key, (int)klen, SQLITE_STATIC);
	if (t->windowed)
		sqlite3_bind_text(t->get, 2, stamp(start, t->sbuf), -1, SQLITE_STATIC);
	rc = sqlite3_step(t->get);
	if (rc == SQLITE_ROW) {
		readrow(t, t->get, r);
		return 1;
	}
	if (rc == SQLITE_DONE)
		return 0;
	return fail(t->st, "read a state");
}

int
ev_vtab_empty(struct ev_vtab *t)
{
	int rc;

	sqlite3_reset(t->any);
	rc = sqlite3_step(t->any);
	sqlite3_reset(t->any);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return fail(t->st, "read the view");
}

int
ev_vtab_put(struct ev_vtab *t, const struct ev_row *r, int fresh)
{
	sqlite3_stmt *s = fresh ? t->ins : t->put;
	int i = 1;

	sqlite3_reset(s);
	sqlite3_bind_text(s, i++, r->key, (int)r->klen, SQLITE_STATIC);
	if (t->windowed) {
		sqlite3_bind_text(s, i++, stamp(r->start, t->sbuf), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, i++, stamp(r->end, t->ebuf), -1, SQLITE_STATIC);
		sqlite3_bind_int(s, i++, r->closed);
	}
	sqlite3_bind_text(s, i++, r->state, (int)r->slen, SQLITE_STATIC);
	if (r->aux)
		sqlite3_bind_blob(s, i, r->aux, (int)r->auxlen, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(t->st, "write a state");
	return 0;
}

int
ev_vtab_putmany(struct ev_vtab *t, const struct ev_row *r, size_t n, int fresh)
{
	sqlite3_stmt *s = fresh ? t->insn : t->putn;

	if (t->windowed || n < EV_VTAB_PUTN) {
		for (size_t i = 0; i < n; i++)
			if (ev_vtab_put(t, &r[i], fresh) < 0)
				return -1;
		return 0;
	}
	sqlite3_reset(s);
	for (int i = 0; i < EV_VTAB_PUTN; i++) {
		sqlite3_bind_text(s, 3 * i + 1, r[i].key, (int)r[i].klen, SQLITE_STATIC);
		sqlite3_bind_text(s, 3 * i + 2, r[i].state, (int)r[i].slen, SQLITE_STATIC);
		if (r[i].aux)
			sqlite3_bind_blob(s, 3 * i + 3, r[i].aux, (int)r[i].auxlen, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 3 * i + 3);
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		return fail(t->st, "write states");
	return ev_vtab_putmany(t, r + EV_VTAB_PUTN, n - EV_VTAB_PUTN, fresh);
}

int
ev_vtab_del(struct ev_vtab *t, const char *key, size_t klen, int64_t start)
{
	sqlite3_reset(t->del);
	sqlite3_bind_text(t->del, 1, key, (int)klen, SQLITE_STATIC);
	if (t->windowed)
		sqlite3_bind_text(t->del, 2, stamp(start, t->sbuf), -1, SQLITE_STATIC);
	if (sqlite3_step(t->del) != SQLITE_DONE)
		return fail(t->st, "delete a state");
	return 0;
}

int
ev_vtab_each(struct ev_vtab *t, const char *key, size_t klen, int open,
    int (*each)(void *, const struct ev_row *), void *arg)
{
	sqlite3_stmt *s = key ? t->eachkey : open ? t->eachopen : t->each;
	struct ev_row r;
	int rc, stop = 0;

	sqlite3_reset(s);
	if (key)
		sqlite3_bind_text(s, 1, key, (int)klen, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		readrow(t, s, &r);
		if ((stop = each(arg, &r)) != 0)
			break;
	}
	sqlite3_reset(s);
	if (stop)
		return stop;
	if (rc != SQLITE_DONE)
		return fail(t->st, "read the view");
	return 0;
}

int
ev_store_begin(struct ev_store *st)
{
	if (st->intx)
		return 0;
	if (exec(st, "BEGIN IMMEDIATE") < 0)
		return -1;
	st->intx = 1;
	return 0;
}

int
ev_store_commit(struct ev_store *st, const char *name, int haspos, uint64_t pos,
    int64_t watermark, int64_t *commits, int shared)
{
	sqlite3_stmt *s;
	int rc;

	if (ev_store_begin(st) < 0)
		return -1;
	if (!(s = prep(st, "UPDATE evfold_views SET pos = CASE WHEN ?1 THEN ?2 ELSE pos END, "
	    "watermark = ?3, commits = commits + 1 WHERE name = ?4 AND (?6 OR commits = ?5)"))) {
		ev_store_rollback(st);
		return -1;
	}
	sqlite3_bind_int(s, 1, haspos);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)pos);
	if (watermark != INT64_MIN)
		sqlite3_bind_int64(s, 3, watermark);
	sqlite3_bind_text(s, 4, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, *commits);
	sqlite3_bind_int(s, 6, shared);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		fail(st, "write evfold_views");
		ev_store_rollback(st);
		return -1;
	}
	if (sqlite3_changes(st->db) != 1) {
		ev_warn("%s: view %s: another process folded into it since this one started; "
		    "one fold per view", st->path, name);
		ev_store_rollback(st);
		errno = EBUSY;
		return -1;
	}
	if (exec(st, "COMMIT") < 0) {
		ev_store_rollback(st);
		return -1;
	}
	st->intx = 0;
	(*commits)++;
	return 0;
}

void
ev_store_rollback(struct ev_store *st)
{
	if (st->intx)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->intx = 0;
}
