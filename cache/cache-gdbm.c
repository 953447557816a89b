/* cache-gdbm.c: the only file that includes gdbm.h (see cache-db.h).
 *
 * We open the file descriptor ourselves and hand it to gdbm_fd_open() so that
 * we know which file (device, inode) turned out to be corrupt: by the time we
 * react, another delivery may already have moved it aside and created a new
 * one at the same path. GDBM_NOMMAP: a file truncated under a mapping would
 * kill us with SIGBUS; the cache is small and read a few blocks at a time.
 */
#include "config.h"
#include "cache-db.h"

#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct SmDb {
	GDBM_FILE dbf;
	SmDbFileId id;
};

/* Writers hold GDBM's lock for one store and the fsync() of gdbm_close(),
 * well under a millisecond: retry often, with jitter so that a crowd of
 * deliveries does not retry in lockstep. */
#define BACKOFF_FIRST_US 100
#define BACKOFF_MAX_US 2000

/* Errors that mean the bytes on disk are not a sound GDBM database. */
static gboolean is_corruption(gdbm_error e)
{
	switch (e) {
	case GDBM_BLOCK_SIZE_ERROR:
	case GDBM_BAD_MAGIC_NUMBER:
	case GDBM_EMPTY_DATABASE:
	case GDBM_MALFORMED_DATA:
	case GDBM_BYTE_SWAPPED:
	case GDBM_BAD_FILE_OFFSET:
	case GDBM_FILE_EOF:
	case GDBM_NEED_RECOVERY:
	case GDBM_DIR_OVERFLOW:
	case GDBM_BAD_BUCKET:
	case GDBM_BAD_HEADER:
	case GDBM_BAD_AVAIL:
	case GDBM_BAD_HASH_TABLE:
	case GDBM_BAD_DIR_ENTRY:
	case GDBM_BUCKET_CACHE_CORRUPTED:
	case GDBM_BAD_HASH_ENTRY:
		return TRUE;
	default:
		return FALSE;
	}
}

static char *describe(gdbm_error e, int saved_errno)
{
	if (gdbm_check_syserr(e) && saved_errno)
		return g_strdup_printf("%s: %s", gdbm_strerror(e), g_strerror(saved_errno));
	return g_strdup(gdbm_strerror(e));
}

static SmDbStatus classify(GDBM_FILE dbf, gdbm_error e, int saved_errno, const char *what,
                           char **why)
{
	g_autofree char *text = describe(e, saved_errno);
	*why = g_strdup_printf("%s: %s", what, text);
	if (is_corruption(e) || (dbf && gdbm_needs_recovery(dbf)))
		return SM_DB_CORRUPT;
	return SM_DB_FAILED;
}

static void fill_id(const struct stat *st, SmDbFileId *id)
{
	*id = (SmDbFileId){ .dev = st->st_dev, .ino = st->st_ino, .mode = st->st_mode & 07777 };
}

static SmDbStatus open_once(const char *path, SmDbMode mode, guint mode_bits, SmDb **out,
                            SmDbFileId *id, char **why)
{
	/* Not through a symlink (a shared cache directory is writable by others,
	 * who could point the name at a file of ours to create or write), and
	 * never blocking on a FIFO planted under the name. */
	int oflags = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (mode == SM_DB_READ ? O_RDONLY : O_RDWR);
	if (mode == SM_DB_CREATE)
		oflags |= O_CREAT;
	int fd = open(path, oflags, mode_bits);
	if (fd < 0) {
		if (errno == ENOENT && mode != SM_DB_CREATE)
			return SM_DB_ABSENT;
		*why = g_strdup_printf("cannot open it: %s", g_strerror(errno));
		return SM_DB_FAILED;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = g_strdup("not a regular file");
		close(fd);
		return SM_DB_FAILED;
	}
	/* A database we create gets @mode_bits exactly: a shared cache recreated
	 * after corruption keeps its group bits whatever the umask (077 in lda/). */
	if (mode == SM_DB_CREATE && st.st_size == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & 07777) != mode_bits && fchmod(fd, mode_bits) == 0)
		st.st_mode = (st.st_mode & ~07777u) | mode_bits;
	fill_id(&st, id);
	/* An empty file is what a creator leaves for an instant; never corrupt. */
	if (st.st_size == 0 && mode != SM_DB_CREATE) {
		close(fd);
		return SM_DB_ABSENT;
	}

	int gflags = GDBM_NOMMAP | GDBM_CLOEXEC | GDBM_XVERIFY;
	gflags |= mode == SM_DB_READ ? GDBM_READER : mode == SM_DB_WRITE ? GDBM_WRITER : GDBM_WRCREAT;
	GDBM_FILE dbf = gdbm_fd_open(fd, path, 0, gflags, NULL);
	if (!dbf) {
		int saved_errno = errno;
		gdbm_error e = gdbm_errno;
		close(fd);
		if (e == GDBM_CANT_BE_READER || e == GDBM_CANT_BE_WRITER)
			return SM_DB_BUSY;
		return classify(NULL, e, saved_errno, "open", why);
	}
	*out = g_new0(SmDb, 1);
	(*out)->dbf = dbf;
	(*out)->id = *id;
	return SM_DB_OK;
}

SmDbStatus sm_db_open(const char *path, SmDbMode mode, guint mode_bits, guint wait_ms,
                      SmDb **out, SmDbFileId *id, char **why)
{
	SmDbFileId scratch;
	gint64 deadline = g_get_monotonic_time() + (gint64)wait_ms * 1000;
	gulong backoff = BACKOFF_FIRST_US;
	guint32 seed = (guint32)getpid() ^ (guint32)g_get_monotonic_time();

	*out = NULL;
	if (!id)
		id = &scratch;
	for (;;) {
		SmDbStatus st = open_once(path, mode, mode_bits, out, id, why);
		if (st != SM_DB_BUSY)
			return st;
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			*why = g_strdup_printf("still locked by another process after %u ms",
			                       wait_ms);
			return SM_DB_BUSY;
		}
		seed = seed * 1103515245u + 12345u; /* jitter only: any LCG will do */
		g_usleep(MIN((gint64)(backoff / 2 + seed % backoff), left));
		backoff = MIN(backoff * 2, BACKOFF_MAX_US);
	}
}

void sm_db_close(SmDb *db)
{
	if (!db)
		return;
	gdbm_close(db->dbf);
	g_free(db);
}

void sm_db_file_id(SmDb *db, SmDbFileId *id)
{
	*id = db->id;
}

static datum key_datum(const char *key)
{
	return (datum){ .dptr = (char *)key, .dsize = (int)strlen(key) };
}

SmDbStatus sm_db_fetch(SmDb *db, const char *key, char **value, char **why)
{
	datum d = gdbm_fetch(db->dbf, key_datum(key));
	if (!d.dptr) {
		int saved_errno = errno;
		gdbm_error e = gdbm_last_errno(db->dbf);
		if (e == GDBM_ITEM_NOT_FOUND)
			return SM_DB_ABSENT;
		return classify(db->dbf, e, saved_errno, "fetch", why);
	}
	*value = g_strndup(d.dptr, d.dsize);
	free(d.dptr);
	return SM_DB_OK;
}

SmDbStatus sm_db_store(SmDb *db, const char *key, const char *value, char **why)
{
	if (gdbm_store(db->dbf, key_datum(key), key_datum(value), GDBM_REPLACE) != 0)
		return classify(db->dbf, gdbm_last_errno(db->dbf), errno, "store", why);
	return SM_DB_OK;
}

SmDbStatus sm_db_delete(SmDb *db, const char *key, char **why)
{
	if (gdbm_delete(db->dbf, key_datum(key)) != 0) {
		int saved_errno = errno;
		gdbm_error e = gdbm_last_errno(db->dbf);
		if (e == GDBM_ITEM_NOT_FOUND)
			return SM_DB_ABSENT;
		return classify(db->dbf, e, saved_errno, "delete", why);
	}
	return SM_DB_OK;
}

SmDbStatus sm_db_foreach(SmDb *db, SmDbForeachFunc f, gpointer user, char **why)
{
	datum k = gdbm_firstkey(db->dbf);
	gboolean go_on = TRUE;

	while (k.dptr && go_on) {
		g_autofree char *key = g_strndup(k.dptr, k.dsize);
		datum v = gdbm_fetch(db->dbf, k);
		if (v.dptr) {
			g_autofree char *value = g_strndup(v.dptr, v.dsize);
			free(v.dptr);
			go_on = f(key, value, user);
		} else if (gdbm_last_errno(db->dbf) != GDBM_ITEM_NOT_FOUND) {
			free(k.dptr);
			return classify(db->dbf, gdbm_last_errno(db->dbf), errno, "fetch", why);
		}
		datum next = go_on ? gdbm_nextkey(db->dbf, k) : (datum){ 0 };
		free(k.dptr);
		k = next;
	}
	free(k.dptr);
	gdbm_error e = gdbm_last_errno(db->dbf);
	if (go_on && e != GDBM_NO_ERROR && e != GDBM_ITEM_NOT_FOUND)
		return classify(db->dbf, e, errno, "iterate", why);
	return SM_DB_OK;
}

SmDbStatus sm_db_reorganize(SmDb *db, char **why)
{
	if (gdbm_reorganize(db->dbf) != 0)
		return classify(db->dbf, gdbm_last_errno(db->dbf), errno, "reorganize", why);
	return SM_DB_OK;
}

int sm_db_move_aside(const char *path, const SmDbFileId *id, char **new_path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 1 : -1;
	if ((guint64)st.st_dev != id->dev || (guint64)st.st_ino != id->ino)
		return 1;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%S");
	char *target = g_strdup_printf("%s.corrupt-%s-%d", path, stamp, (int)getpid());
	if (rename(path, target) != 0) {
		int saved = errno;
		g_free(target);
		errno = saved;
		return -1;
	}
	*new_path = target;
	return 0;
}
