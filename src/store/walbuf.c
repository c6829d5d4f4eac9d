/*
 * walbuf.c - the writer connection's WAL writes gathered into one write,
 * and the checkpointer's database writes synced in pieces.
 *
 * SQLite appends a commit to the WAL frame by frame, each frame as two
 * pwrite() calls (its 24-byte header, then the page): with 32 writers a
 * batch of ~25 requests was ~200 calls, and the kernel's per-call work
 * (ext4's write_begin/write_end, dirtying the same 4 KiB page cache page
 * again and again) was a quarter of the writer's CPU. This VFS, used by the
 * writer's connection alone (GW_CONN_WRITER), keeps consecutive writes to
 * the WAL in a buffer and hands them to the file in one call.
 *
 * Nothing is acknowledged sooner and nothing is less durable: the buffer
 * is written out before every sync (the COMMIT's fsync with
 * synchronous=FULL covers every frame, as before), read, truncate, size
 * or close of the WAL, and before the connection touches the WAL index
 * (a barrier, or any unlock of the shared-memory locks, the write lock
 * included), so no other connection can read or overwrite a frame that is
 * still here. A write that fails drops the buffer and reports the error,
 * as the direct write would have (one at a barrier, which cannot report,
 * at the WAL's next write or sync, so that no commit after it succeeds
 * without its frames). Every other file (the database itself,
 * temporary files) is passed through unchanged.
 *
 * The checkpointer's connection (GW_CONN_CHECKPOINTER, a second VFS of
 * the same methods) syncs the database file after every
 * GW_STORE_CKPT_PACE_BYTES it writes there. A checkpoint round copies up to
 * 16,384 pages (32 MiB) and synced them at its end, all at once: the disk then
 * had that much to write ahead of the writer's next commit, whose own sync
 * waited for it (commits of 17-28 ms about once a second in bench_http.sh at
 * half its peak, and the writer's WAL catch-up after the round, 35-47 ms one
 * time in five). In pieces the round is as durable at its end (SQLite's
 * own sync still comes last), each commit waits behind one piece at most,
 * and both were under 2.5 ms (tests/bench/bench_http.sh, README).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Below 128 KiB: the unix VFS writes at most 0x1ffff bytes a call and
 * takes a write of more as a short one (SQLITE_FULL). */
#define WALBUF_CAP (120 * 1024)

struct wb_file {
    sqlite3_file base;
    sqlite3_file *real;   /* the default VFS's file, after this struct */
    const char *name;     /* as SQLite gave it: the database's, to match */
    struct wb_file *wal;  /* a database file: its connection's WAL */
    struct wb_file *db;   /* a WAL: its database file */
    struct wb_file *next; /* the open database files (dbs) */
    int is_wal;
    int paced;       /* the checkpointer's database file (above) */
    long pace_bytes; /* written since its last sync */
    char *buf;
    int len;
    int err; /* a flush at a barrier failed: the WAL's next write or sync
                says so (a barrier cannot) */
    sqlite3_int64 off;
};

static sqlite3_vfs *base_vfs;
static pthread_mutex_t dbs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wb_file *dbs;
/* Syncs of a paced file so far (gw_store_ckpt_paced_syncs). */
static long long paced_syncs;

#define REAL(f) (((struct wb_file *)(f))->real)

/* Hands what is buffered to the file; the buffer is empty afterwards,
 * whether or not that worked. */
static int
wb_flush(struct wb_file *f)
{
    int rc;

    if (f == NULL || f->len == 0)
        return SQLITE_OK;
    rc = f->real->pMethods->xWrite(f->real, f->buf, f->len, f->off);
    f->len = 0;
    return rc;
}

static int
wb_close(sqlite3_file *p)
{
    struct wb_file *f = (struct wb_file *)p;
    int rc = wb_flush(f), rc2;

    pthread_mutex_lock(&dbs_mu);
    if (f->is_wal && f->db != NULL)
        f->db->wal = NULL;
    if (!f->is_wal) {
        if (f->wal != NULL)
            f->wal->db = NULL;
        for (struct wb_file **q = &dbs; *q != NULL; q = &(*q)->next)
            if (*q == f) {
                *q = f->next;
                break;
            }
    }
    pthread_mutex_unlock(&dbs_mu);
    free(f->buf);
    f->buf = NULL;
    rc2 = f->real->pMethods->xClose(f->real);
    return rc != SQLITE_OK ? rc : rc2;
}

static int
wb_read(sqlite3_file *p, void *out, int n, sqlite3_int64 off)
{
    int rc = wb_flush((struct wb_file *)p);

    return rc != SQLITE_OK ? rc
                           : REAL(p)->pMethods->xRead(REAL(p), out, n, off);
}

static int
wb_write(sqlite3_file *p, const void *data, int n, sqlite3_int64 off)
{
    struct wb_file *f = (struct wb_file *)p;
    int rc;

    if (!f->is_wal) {
        rc = f->real->pMethods->xWrite(f->real, data, n, off);
        if (rc != SQLITE_OK || !f->paced ||
            (f->pace_bytes += n) < GW_STORE_CKPT_PACE_BYTES)
            return rc;
        f->pace_bytes = 0;
        __atomic_add_fetch(&paced_syncs, 1, __ATOMIC_RELAXED);
        return f->real->pMethods->xSync(f->real, SQLITE_SYNC_NORMAL);
    }
    if (f->err != SQLITE_OK) {
        rc = f->err;
        f->err = SQLITE_OK;
        return rc;
    }
    if (f->len > 0 && off == f->off + f->len && f->len + n <= WALBUF_CAP) {
        memcpy(f->buf + f->len, data, (size_t)n);
        f->len += n;
        return SQLITE_OK;
    }
    if ((rc = wb_flush(f)) != SQLITE_OK)
        return rc;
    if (f->buf == NULL)
        f->buf = malloc(WALBUF_CAP);
    if (f->buf == NULL || n > WALBUF_CAP)
        return f->real->pMethods->xWrite(f->real, data, n, off);
    memcpy(f->buf, data, (size_t)n);
    f->len = n;
    f->off = off;
    return SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *p, sqlite3_int64 size)
{
    int rc = wb_flush((struct wb_file *)p);

    return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xTruncate(REAL(p), size);
}

static int
wb_sync(sqlite3_file *p, int flags)
{
    struct wb_file *f = (struct wb_file *)p;
    int rc = f->err != SQLITE_OK ? f->err : wb_flush(f);

    f->err = SQLITE_OK;
    return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xSync(REAL(p), flags);
}

static int
wb_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
    int rc = wb_flush((struct wb_file *)p);

    return rc != SQLITE_OK ? rc : REAL(p)->pMethods->xFileSize(REAL(p), size);
}

static int
wb_lock(sqlite3_file *p, int lock)
{
    return REAL(p)->pMethods->xLock(REAL(p), lock);
}

static int
wb_unlock(sqlite3_file *p, int lock)
{
    return REAL(p)->pMethods->xUnlock(REAL(p), lock);
}

static int
wb_check_reserved(sqlite3_file *p, int *out)
{
    return REAL(p)->pMethods->xCheckReservedLock(REAL(p), out);
}

static int
wb_file_control(sqlite3_file *p, int op, void *arg)
{
    int rc = wb_flush((struct wb_file *)p);

    return rc != SQLITE_OK ? rc
                           : REAL(p)->pMethods->xFileControl(REAL(p), op, arg);
}

static int
wb_sector_size(sqlite3_file *p)
{
    return REAL(p)->pMethods->xSectorSize(REAL(p));
}

static int
wb_device(sqlite3_file *p)
{
    return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p));
}

static int
wb_shm_map(sqlite3_file *p, int pg, int pgsz, int extend, void volatile **out)
{
    return REAL(p)->pMethods->xShmMap(REAL(p), pg, pgsz, extend, out);
}

/* The WAL index is about to change or another connection may take a
 * lock this one held: every frame must be in the file first. */
static int
wb_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
    struct wb_file *f = (struct wb_file *)p;

    if (flags & SQLITE_SHM_UNLOCK) {
        int rc = wb_flush(f->wal);
        if (rc != SQLITE_OK)
            return rc;
    }
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void
wb_shm_barrier(sqlite3_file *p)
{
    struct wb_file *f = (struct wb_file *)p;
    int rc = wb_flush(f->wal);

    if (rc != SQLITE_OK)
        f->wal->err = rc; /* the WAL's next write or sync fails with it */
    f->real->pMethods->xShmBarrier(f->real);
}

static int
wb_shm_unmap(sqlite3_file *p, int del)
{
    return REAL(p)->pMethods->xShmUnmap(REAL(p), del);
}

static int
wb_fetch(sqlite3_file *p, sqlite3_int64 off, int n, void **out)
{
    int rc = wb_flush((struct wb_file *)p);

    return rc != SQLITE_OK ? rc
                           : REAL(p)->pMethods->xFetch(REAL(p), off, n, out);
}

static int
wb_unfetch(sqlite3_file *p, sqlite3_int64 off, void *page)
{
    return REAL(p)->pMethods->xUnfetch(REAL(p), off, page);
}

static const sqlite3_io_methods wb_methods = {
    .iVersion = 3,
    .xClose = wb_close,
    .xRead = wb_read,
    .xWrite = wb_write,
    .xTruncate = wb_truncate,
    .xSync = wb_sync,
    .xFileSize = wb_file_size,
    .xLock = wb_lock,
    .xUnlock = wb_unlock,
    .xCheckReservedLock = wb_check_reserved,
    .xFileControl = wb_file_control,
    .xSectorSize = wb_sector_size,
    .xDeviceCharacteristics = wb_device,
    .xShmMap = wb_shm_map,
    .xShmLock = wb_shm_lock,
    .xShmBarrier = wb_shm_barrier,
    .xShmUnmap = wb_shm_unmap,
    .xFetch = wb_fetch,
    .xUnfetch = wb_unfetch,
};

/* The default VFS with our xOpen (wb_register): its other methods serve
 * this one as they are. The checkpointer's, the same but for its name. */
static sqlite3_vfs wb_vfs, wb_ckpt_vfs;

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags,
        int *out_flags)
{
    struct wb_file *f = (struct wb_file *)p;
    int rc;

    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)(f + 1);
    rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        f->base.pMethods = NULL; /* SQLite closes only an opened file */
        return rc;
    }
    if (f->real->pMethods == NULL || f->real->pMethods->iVersion < 3) {
        /* Not a file we can stand in for: never the case with unix. */
        if (f->real->pMethods != NULL)
            f->real->pMethods->xClose(f->real);
        f->base.pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    f->base.pMethods = &wb_methods;
    f->name = name;
    f->paced = vfs == &wb_ckpt_vfs && (flags & SQLITE_OPEN_MAIN_DB) != 0;
    pthread_mutex_lock(&dbs_mu);
    if (flags & SQLITE_OPEN_WAL) {
        const char *db = sqlite3_filename_database(name);
        f->is_wal = 1;
        for (struct wb_file *d = dbs; d != NULL; d = d->next)
            if (d->name == db && d->wal == NULL) {
                d->wal = f;
                f->db = d;
                break;
            }
    } else if (flags & SQLITE_OPEN_MAIN_DB) {
        f->next = dbs;
        dbs = f;
    }
    pthread_mutex_unlock(&dbs_mu);
    if (f->is_wal && f->db == NULL) {
        /* No database file of ours to flush it at a barrier or unlock:
         * do not buffer. */
        f->is_wal = 0;
    }
    return SQLITE_OK;
}

static int wb_registered = SQLITE_ERROR;

static void
wb_register(void)
{
    base_vfs = sqlite3_vfs_find(NULL);
    if (base_vfs == NULL)
        return;
    wb_vfs = *base_vfs;
    wb_vfs.pNext = NULL;
    wb_vfs.zName = GW_STORE_WRITER_VFS;
    wb_vfs.szOsFile = (int)sizeof(struct wb_file) + base_vfs->szOsFile;
    wb_vfs.xOpen = wb_open;
    wb_registered = sqlite3_vfs_register(&wb_vfs, 0);
    wb_ckpt_vfs = wb_vfs;
    wb_ckpt_vfs.zName = GW_STORE_CKPT_VFS;
    if (wb_registered == SQLITE_OK)
        wb_registered = sqlite3_vfs_register(&wb_ckpt_vfs, 0);
}

static pthread_once_t wb_once = PTHREAD_ONCE_INIT;

const char *
gw_store_writer_vfs(void)
{
    pthread_once(&wb_once, wb_register);
    return wb_registered == SQLITE_OK ? GW_STORE_WRITER_VFS : NULL;
}

const char *
gw_store_ckpt_vfs(void)
{
    pthread_once(&wb_once, wb_register);
    return wb_registered == SQLITE_OK ? GW_STORE_CKPT_VFS : NULL;
}

long long
gw_store_ckpt_paced_syncs(void)
{
    return __atomic_load_n(&paced_syncs, __ATOMIC_RELAXED);
}
