/* maildir-batch.c: stage into tmp/, commit a batch to new/ (see maildir-batch.h).
 * Only `sortmail replay` uses it; `sortmail deliver` keeps the per-message
 * store() of deliver-maildir.c. */
#include "config.h"
#include "maildir-batch.h"
#include "deliver-maildir-priv.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean sm_maildir_stage(const SmMailbox *box, const char *folder, const SmDelivery *d,
                          SmStaged **out, GError **error)
{
	g_autofree char *dir = sm_maildir_folder_dir(box, folder, error);
	if (!dir)
		return FALSE;
	g_autofree char *tmp_path = NULL, *name = NULL;
	int fd = sm_maildir_open_tmp(dir, d->prefix_len + d->len, &tmp_path, &name, error);
	if (fd < 0)
		return FALSE;
	if (sm_write_all(fd, d->prefix, d->prefix_len) < 0
	    || sm_write_all(fd, d->data, d->len) < 0) {
		int saved = errno;
		close(fd);
		unlink(tmp_path);
		errno = saved;
		return sm_maildir_errno_error(error, "cannot write", tmp_path);
	}
	SmStaged *s = g_new0(SmStaged, 1);
	s->fd = fd;
	s->tmp_path = g_steal_pointer(&tmp_path);
	s->new_dir = g_build_filename(dir, "new", NULL);
	s->new_path = g_build_filename(s->new_dir, name, NULL);
	*out = s;
	return TRUE;
}

static void fail(SmStaged *s, const char *what, const char *path, int err)
{
	if (s->error)
		return;
	errno = err;
	sm_maildir_errno_error(&s->error, what, path);
}

/* Without syncfs() (ENOSYS): each
 * file on its own, writeback started on all before the first fsync so that
 * most of them find their blocks in a journal commit that already happened. */
static void fsync_each(SmStaged *const *batch, guint n, dev_t dev, const dev_t *devs)
{
	for (guint i = 0; i < n; i++)
		if (batch[i]->fd >= 0 && devs[i] == dev)
			(void)sync_file_range(batch[i]->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	for (guint i = 0; i < n; i++) {
		SmStaged *s = batch[i];
		if (s->fd >= 0 && devs[i] == dev && fsync(s->fd) < 0)
			fail(s, "cannot write", s->tmp_path, errno);
	}
}

/* The data of every file: one syncfs() per filesystem the batch is on. It
 * also writes out whatever else is dirty there, but on a journalling
 * filesystem it costs about one fsync, where a batch of fsyncs costs most of
 * one each (measured: tests/bench/FIGURES-replay.md). */
static void sync_data(SmStaged *const *batch, guint n)
{
	dev_t *devs = g_new0(dev_t, n);
	for (guint i = 0; i < n; i++) {
		struct stat st;
		if (batch[i]->fd >= 0 && fstat(batch[i]->fd, &st) < 0)
			fail(batch[i], "cannot write", batch[i]->tmp_path, errno);
		else if (batch[i]->fd >= 0)
			devs[i] = st.st_dev;
	}
	for (guint i = 0; i < n; i++) {
		SmStaged *s = batch[i];
		gboolean first = s->fd >= 0 && !s->error;
		for (guint j = 0; first && j < i; j++)
			first = !(batch[j]->fd >= 0 && !batch[j]->error && devs[j] == devs[i]);
		if (!first || syncfs(s->fd) == 0)
			continue;
		if (errno == ENOSYS) {
			fsync_each(batch, n, devs[i], devs);
			continue;
		}
		/* Which of them is not on disk is unknown: none counts as durable. */
		int err = errno;
		for (guint j = i; j < n; j++)
			if (batch[j]->fd >= 0 && devs[j] == devs[i])
				fail(batch[j], "cannot sync the file system of", batch[j]->tmp_path, err);
	}
	for (guint i = 0; i < n; i++) {
		SmStaged *s = batch[i];
		if (s->fd >= 0 && close(s->fd) < 0)
			fail(s, "cannot write", s->tmp_path, errno);
		s->fd = -1;
	}
	g_free(devs);
}

static void link_all(SmStaged *const *batch, guint n)
{
	for (guint i = 0; i < n; i++) {
		SmStaged *s = batch[i];
		if (!s->error && sm_maildir_link(s->tmp_path, s->new_path) < 0)
			fail(s, "cannot move message into", s->new_dir, errno);
	}
}

/* Each new/ once; a directory that cannot be synced takes its messages back
 * out of new/ (they are not durable, and the replay will say they failed). */
static void sync_dirs(SmStaged *const *batch, guint n)
{
	g_autoptr(GHashTable) synced = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < n; i++) {
		SmStaged *s = batch[i];
		if (s->error || g_hash_table_contains(synced, s->new_dir))
			continue;
		g_hash_table_add(synced, s->new_dir);
		if (sm_fsync_dir(s->new_dir) == 0)
			continue;
		int err = errno;
		for (guint j = i; j < n; j++) {
			SmStaged *t = batch[j];
			if (!t->error && g_str_equal(t->new_dir, s->new_dir)) {
				unlink(t->new_path);
				fail(t, "cannot sync", t->new_dir, err);
			}
		}
	}
	for (guint i = 0; i < n; i++)
		batch[i]->done = !batch[i]->error;
}

void sm_maildir_commit(SmStaged *const *batch, guint n)
{
	sync_data(batch, n);
	link_all(batch, n);
	sync_dirs(batch, n);
}

void sm_staged_free(SmStaged *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (!s->done)
		unlink(s->tmp_path);
	g_clear_error(&s->error);
	g_free(s->tmp_path);
	g_free(s->new_dir);
	g_free(s->new_path);
	g_free(s);
}
