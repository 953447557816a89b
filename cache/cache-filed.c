/* cache-filed.c: the duplicates journal (see cache.h and cache/README).
 *
 * One empty file per (key, original recipient) in the directory PATH.filed,
 * named KEY "." and the first 32 hex digits of SHA-256(recipient); its mtime
 * says when the message was filed. Files, not database records, because a
 * GDBM writer pays an fsync() on every close, and this write happens on every
 * delivery, the cache hits included. It needs no fsync: the journal exists
 * for an MTA retry after sortmail died between filing and exiting, and a
 * file written by a process that died is still there; after a power loss the
 * worst case is one more copy, the at-least-once the README documents.
 *
 * It is advisory: a journal we cannot read answers "not filed" (filing twice
 * is better than losing mail), one we cannot write is skipped with a warning.
 * Stale files are removed by `sortmail cache prune` and, at most once per
 * PRUNE_EVERY seconds, by a delivery after it has filed (stamp file .pruned).
 */
#include "config.h"
#include "cache-priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRUNE_STAMP ".pruned"
#define PRUNE_EVERY 3600

char *sm_filed_dir(const SmCache *c)
{
	return g_strconcat(c->path, ".filed", NULL);
}

static char *filing_name(const char *key, const char *recipient)
{
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, recipient, -1);
	return g_strdup_printf("%s.%.32s", key, hash);
}

static char *filing_path(const SmCache *c, const char *key, const char *recipient)
{
	g_autofree char *dir = sm_filed_dir(c);
	g_autofree char *name = filing_name(key, recipient);
	return g_strdup_printf("%s/%s", dir, name);
}

/* Only our own kind of entry counts: a regular file (never a symlink). */
static gboolean fresh_file(SmCache *c, const struct stat *st)
{
	return S_ISREG(st->st_mode) && sm_cache_time_fresh(c, st->st_mtime);
}

gboolean sm_cache_already_filed(SmCache *c, const char *key, const char *recipient)
{
	if (!c->duplicates || c->broken)
		return FALSE;
	g_autofree char *path = filing_path(c, key, recipient ? recipient : "");
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			sm_cache_warn(c, "duplicates journal %s: %s", path, g_strerror(errno));
		return FALSE;
	}
	return fresh_file(c, &st);
}

gboolean sm_cache_lookup_filed(SmCache *c, const char *key, const char *recipient,
                               gint64 *filed_at, GError **error)
{
	g_autofree char *path = filing_path(c, key, recipient ? recipient : "");
	struct stat st;
	*filed_at = 0;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return TRUE;
		int saved = errno;
		g_set_error(error, SM_CACHE_ERROR, SM_CACHE_ERROR_FAILED, "%s: %s", path,
		            g_strerror(saved));
		return FALSE;
	}
	if (fresh_file(c, &st))
		*filed_at = st.st_mtime;
	return TRUE;
}

/* Sets the file's times to "now" (the clock, or the tests' fixed time). */
static int touch_fd(SmCache *c, int fd)
{
	if (!c->now)
		return futimens(fd, NULL);
	struct timespec t[2] = { { .tv_sec = c->now }, { .tv_sec = c->now } };
	return futimens(fd, t);
}

static int touch_at(SmCache *c, int dirfd, const char *name, guint mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	int r = touch_fd(c, fd);
	int saved = errno;
	if (close(fd) < 0 && r == 0)
		return -1;
	errno = saved;
	return r;
}

/* Directory modes follow the file mode: rw for someone means rwx. */
static guint dir_mode(guint file_mode)
{
	return file_mode | ((file_mode & 0444) >> 2);
}

/* The journal directory, opened to create files in: never through a symlink
 * (see each_filing()); made, with its parents, when missing. -1 + errno. */
static int open_filed_dir(const char *dir, guint mode)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	g_autofree char *parent = g_path_get_dirname(dir);
	g_mkdir_with_parents(parent, 0700);
	if (mkdir(dir, dir_mode(mode)) < 0 && errno != EEXIST)
		return -1;
	return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* A delivery prunes when the stamp is older than PRUNE_EVERY (or the TTL,
 * when that is shorter): one fstatat() per delivery, a scan once an hour. */
static void maybe_prune(SmCache *c, int dirfd, guint mode)
{
	struct stat st;
	gint64 every = MIN((gint64)PRUNE_EVERY, (gint64)c->ttl);
	if (fstatat(dirfd, PRUNE_STAMP, &st, AT_SYMLINK_NOFOLLOW) == 0
	    && sm_cache_now(c) - st.st_mtime < every)
		return;
	guint fresh, stale;
	if (touch_at(c, dirfd, PRUNE_STAMP, mode) == 0)
		sm_filed_scan(c, TRUE, &fresh, &stale);
}

void sm_cache_mark_filed(SmCache *c, const char *key, const char *recipient)
{
	if (!c->duplicates || c->broken)
		return;
	g_autofree char *dir = sm_filed_dir(c);
	g_autofree char *name = filing_name(key, recipient ? recipient : "");
	guint mode = sm_cache_file_mode(c);
	int dirfd = open_filed_dir(dir, mode);
	if (dirfd < 0 || touch_at(c, dirfd, name, mode) < 0) {
		sm_cache_warn(c, "duplicates journal %s/%s: %s", dir, name, g_strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return;
	}
	maybe_prune(c, dirfd, mode);
	close(dirfd);
}

static gboolean all_hex(const char *s, gsize n)
{
	for (gsize i = 0; i < n; i++)
		if (!g_ascii_isxdigit(s[i]) || g_ascii_isupper(s[i]))
			return FALSE;
	return TRUE;
}

/* Our own names only (the key's hex digits, 64 for a real key, ".", 32 hex
 * digits): whatever else is in the directory is never counted, let alone
 * removed. */
static gboolean is_filing_name(const char *name)
{
	const char *dot = strchr(name, '.');
	gsize keylen = dot ? (gsize)(dot - name) : 0;
	return keylen > 0 && keylen <= 64 && all_hex(name, keylen) && strlen(dot + 1) == 32
	       && all_hex(dot + 1, 32);
}

/* Calls @f for each filing of the directory (key prefix @key, or all). The
 * directory must be a directory, not a symlink: pruning removes what it
 * finds there, and in a shared (group-writable) cache directory another
 * user could otherwise point it at someone's mail (ELOOP, reported). */
typedef void (*FilingFunc)(SmCache *c, int dirfd, const char *name, const struct stat *st,
                           gpointer user);

static int each_filing(SmCache *c, const char *key, FilingFunc f, gpointer user)
{
	g_autofree char *dir = sm_filed_dir(c);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	gsize keylen = key ? strlen(key) : 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (!is_filing_name(e->d_name))
			continue;
		if (key && (strncmp(e->d_name, key, keylen) != 0 || e->d_name[keylen] != '.'))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			f(c, dirfd(d), e->d_name, &st, user);
	}
	closedir(d);
	return 0;
}

typedef struct {
	gboolean prune;
	guint fresh, stale;
} Scan;

static void scan_one(SmCache *c, int dirfd, const char *name, const struct stat *st,
                     gpointer user)
{
	Scan *s = user;
	if (fresh_file(c, st)) {
		s->fresh++;
		return;
	}
	if (!s->prune || unlinkat(dirfd, name, 0) == 0)
		s->stale++;
}

int sm_filed_scan(SmCache *c, gboolean prune, guint *fresh, guint *stale)
{
	Scan s = { .prune = prune };
	int r = each_filing(c, NULL, scan_one, &s);
	*fresh = s.fresh;
	*stale = s.stale;
	return r;
}

static void forget_one(SmCache *c, int dirfd, const char *name, const struct stat *st,
                       gpointer user)
{
	if (unlinkat(dirfd, name, 0) == 0)
		(*(guint *)user)++;
}

int sm_filed_forget(SmCache *c, const char *key, guint *removed)
{
	return each_filing(c, key, forget_one, removed);
}
