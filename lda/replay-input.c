/* replay-input.c: inputs -> messages for `sortmail replay` (see replay-input.h). */
#include "config.h"
#include "replay-input.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Replayed pages of a mapped mbox are given back in steps this large. */
#define DROP_STEP (8u << 20)

typedef enum { KIND_NONE, KIND_MBOX, KIND_SINGLE, KIND_MAILDIR } Kind;

struct SmReplayInput {
	char **paths;
	guint next_path;
	/* Taken when the input is made, so that --jobs workers forked after it
	 * see the same messages even when they file into one of the inputs:
	 * per path, the Maildir's names (or NULL), the file's size (or -1). */
	GPtrArray **listed;
	goffset *sizes;
	SmMboxFormat format;
	/* the input being read */
	const char *path;
	Kind kind;
	char *buf;            /* the file's bytes (mapped, or read: stdin) */
	gsize len;
	gboolean mapped;
	gsize dropped;        /* bytes of the mapping already given back */
	SmMboxReader reader;
	SmMboxMessage msg;
	GPtrArray *names;     /* Maildir: "new/NAME", "cur/NAME", sorted by NAME */
	guint next_name;
	char *item_data;      /* Maildir: the current file's bytes */
	gsize item_len;
};

static gboolean errno_error(GError **error, const char *path, const char *what)
{
	int saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s: %s", path, what,
	            g_strerror(saved));
	return FALSE;
}

static void close_current(SmReplayInput *in)
{
	sm_mbox_message_clear(&in->msg);
	if (in->mapped)
		munmap(in->buf, in->len);
	else
		g_free(in->buf);
	in->buf = NULL;
	in->len = in->dropped = 0;
	in->mapped = FALSE;
	g_clear_pointer(&in->names, g_ptr_array_unref);
	g_clear_pointer(&in->item_data, g_free);
	in->kind = KIND_NONE;
}

static gboolean read_fd(int fd, char **buf, gsize *len)
{
	GByteArray *a = g_byte_array_new();
	guint8 chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_byte_array_unref(a);
			return FALSE;
		}
		if (n == 0)
			break;
		g_byte_array_append(a, chunk, (guint)n);
	}
	*len = a->len;
	*buf = (char *)g_byte_array_free(a, FALSE);
	return TRUE;
}

/* The Maildir entries of @sub ("new" or "cur") of @dir, appended to @names. */
static gboolean list_sub(const char *dir, const char *sub, GPtrArray *names, GError **error)
{
	g_autofree char *path = g_build_filename(dir, sub, NULL);
	g_autoptr(GDir) d = g_dir_open(path, 0, error);
	if (!d)
		return FALSE;
	const char *name;
	while ((name = g_dir_read_name(d)))
		if (name[0] != '.')
			g_ptr_array_add(names, g_strconcat(sub, "/", name, NULL));
	return TRUE;
}

/* By the name without "new/" or "cur/": Maildir names start with the time. */
static gint by_base_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a + 4, *(const char *const *)b + 4);
}

static gboolean open_maildir(SmReplayInput *in, GPtrArray *listed, GError **error)
{
	g_autofree char *cur = g_build_filename(in->path, "cur", NULL);
	g_autofree char *new = g_build_filename(in->path, "new", NULL);
	gboolean has_cur = g_file_test(cur, G_FILE_TEST_IS_DIR);
	gboolean has_new = g_file_test(new, G_FILE_TEST_IS_DIR);
	if (!has_cur && !has_new) {
		g_set_error(error, SM_LDA_ERROR, SM_LDA_ERROR_INPUT,
		            "%s: a directory without new/ or cur/ is not a Maildir", in->path);
		return FALSE;
	}
	in->kind = KIND_MAILDIR;
	in->next_name = 0;
	if (listed) {
		in->names = listed;
		return TRUE;
	}
	in->names = g_ptr_array_new_with_free_func(g_free);
	if ((has_new && !list_sub(in->path, "new", in->names, error))
	    || (has_cur && !list_sub(in->path, "cur", in->names, error)))
		return FALSE;
	g_ptr_array_sort(in->names, by_base_name);
	return TRUE;
}

/* A file (or stdin): mapped read-only, or read when it cannot be mapped. */
static gboolean load_file(SmReplayInput *in, goffset size_then, GError **error)
{
	gboolean is_stdin = strcmp(in->path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(in->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno_error(error, in->path, "cannot open");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		errno_error(error, in->path, "cannot stat");
		goto fail;
	}
	/* What was there when the run started (an mbox we file into grows). */
	goffset size = size_then >= 0 ? MIN(st.st_size, size_then) : st.st_size;
	if (S_ISREG(st.st_mode) && size > 0) {
		void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			madvise(map, (size_t)size, MADV_SEQUENTIAL);
			in->buf = map;
			in->len = (gsize)size;
			in->mapped = TRUE;
		}
	}
	if (!in->mapped && S_ISREG(st.st_mode) && size == 0) {
		in->buf = g_strdup("");  /* empty (then, or now) */
	} else if (!in->mapped && !read_fd(fd, &in->buf, &in->len)) {
		errno_error(error, in->path, "cannot read");
		goto fail;
	}
	if (!is_stdin)
		close(fd);
	return TRUE;
fail:
	if (!is_stdin)
		close(fd);
	return FALSE;
}

static gboolean open_input(SmReplayInput *in, guint i, GError **error)
{
	const char *path = in->paths[i];
	in->path = path;
	struct stat st;
	if (strcmp(path, "-") != 0 && stat(path, &st) < 0)
		return errno_error(error, path, "cannot open");
	if (strcmp(path, "-") != 0 && S_ISDIR(st.st_mode)) {
		GPtrArray *listed = in->listed[i];
		in->listed[i] = NULL;
		return open_maildir(in, listed, error);
	}
	if (!load_file(in, in->sizes[i], error))
		return FALSE;
	gsize first = in->len;
	const char *nl = memchr(in->buf, '\n', in->len);
	if (nl)
		first = (gsize)(nl - in->buf) + 1;
	in->kind = in->len && sm_mbox_is_from_line(in->buf, first) ? KIND_MBOX : KIND_SINGLE;
	sm_mbox_reader_init(&in->reader, in->buf, in->len, in->format);
	return TRUE;
}

/* Gives back the mapped pages before @upto: replayed, not needed again. */
static void drop_pages(SmReplayInput *in, gsize upto)
{
	if (!in->mapped || upto < in->dropped + DROP_STEP)
		return;
	gsize page = (gsize)sysconf(_SC_PAGESIZE);
	gsize end = upto / page * page;
	madvise(in->buf + in->dropped, end - in->dropped, MADV_DONTNEED);
	in->dropped = end;
}

static SmReplayNext next_in_current(SmReplayInput *in, SmReplayItem *item, GError **error)
{
	*item = (SmReplayItem){ .path = in->path };
	switch (in->kind) {
	case KIND_MBOX:
		sm_mbox_message_clear(&in->msg);
		drop_pages(in, in->reader.pos);
		if (!sm_mbox_next(&in->reader, &in->msg))
			return SM_REPLAY_END;
		item->in_mbox = TRUE;
		item->offset = in->msg.offset;
		item->data = in->msg.data;
		item->len = in->msg.len;
		item->from_sender = in->msg.from_sender;
		item->truncated = in->msg.truncated;
		item->unquoted = in->msg.unquoted;
		return SM_REPLAY_ITEM;
	case KIND_SINGLE:
		in->kind = KIND_NONE;
		if (in->len == 0)
			return SM_REPLAY_END;
		item->data = in->buf;
		item->len = in->len;
		return SM_REPLAY_ITEM;
	case KIND_MAILDIR: {
		if (in->next_name >= in->names->len)
			return SM_REPLAY_END;
		const char *name = in->names->pdata[in->next_name++];
		g_clear_pointer(&in->item_data, g_free);
		item->name = name;
		const char *info = strstr(name, ":2,");
		item->flags = g_str_has_prefix(name, "cur/") && info ? info + 3 : NULL;
		item->unread = TRUE;  /* sm_replay_input_load(), if it is wanted */
		return SM_REPLAY_ITEM;
	}
	case KIND_NONE:
		break;
	}
	return SM_REPLAY_END;
}

SmReplayNext sm_replay_input_next(SmReplayInput *in, SmReplayItem *item, GError **error)
{
	for (;;) {
		if (in->kind != KIND_NONE) {
			SmReplayNext r = next_in_current(in, item, error);
			if (r != SM_REPLAY_END)
				return r;
			close_current(in);
		}
		if (!in->paths[in->next_path])
			return SM_REPLAY_END;
		*item = (SmReplayItem){ .path = in->paths[in->next_path] };
		if (!open_input(in, in->next_path++, error)) {
			close_current(in);
			return SM_REPLAY_ERROR;
		}
	}
}

gboolean sm_replay_input_load(SmReplayInput *in, SmReplayItem *item, GError **error)
{
	if (!item->unread)
		return TRUE;
	g_autofree char *file = g_build_filename(in->path, item->name, NULL);
	g_clear_pointer(&in->item_data, g_free);
	if (!g_file_get_contents(file, &in->item_data, &in->item_len, error))
		return FALSE;
	item->data = in->item_data;
	item->len = in->item_len;
	item->unread = FALSE;
	return TRUE;
}

SmReplayInput *sm_replay_input_new(char **paths, SmMboxFormat format)
{
	SmReplayInput *in = g_new0(SmReplayInput, 1);
	in->paths = paths;
	in->format = format;
	guint n = g_strv_length(paths);
	in->listed = g_new0(GPtrArray *, n + 1);
	in->sizes = g_new(goffset, n + 1);
	for (guint i = 0; i < n; i++) {
		struct stat st;
		in->sizes[i] = -1;
		if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) < 0)
			continue;
		if (S_ISREG(st.st_mode))
			in->sizes[i] = st.st_size;
		/* A failed listing is reported when the input's turn comes. */
		in->path = paths[i];
		if (S_ISDIR(st.st_mode) && open_maildir(in, NULL, NULL))
			in->listed[i] = g_steal_pointer(&in->names);
		close_current(in);
	}
	return in;
}

void sm_replay_input_free(SmReplayInput *in)
{
	if (!in)
		return;
	close_current(in);
	for (guint i = 0; in->paths[i]; i++)
		if (in->listed[i])
			g_ptr_array_unref(in->listed[i]);
	g_free(in->listed);
	g_free(in->sizes);
	g_free(in);
}

gint64 sm_replay_input_count(char **paths, SmMboxFormat format)
{
	gint64 n = 0;
	for (char **p = paths; *p; p++)
		if (strcmp(*p, "-") == 0)
			return -1;
	SmReplayInput *in = sm_replay_input_new(paths, format);
	for (;;) {
		SmReplayItem item;
		g_autoptr(GError) error = NULL;
		if (in->kind == KIND_MAILDIR) {
			/* The names are enough: no need to read every file. */
			n += in->names->len - in->next_name;
			in->next_name = in->names->len;
		}
		SmReplayNext r = sm_replay_input_next(in, &item, &error);
		if (r == SM_REPLAY_END)
			break;
		n += r == SM_REPLAY_ITEM;
	}
	sm_replay_input_free(in);
	return n;
}
