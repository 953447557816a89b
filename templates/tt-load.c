/* tt-load.c: finding and reading template files.
 *
 * Contract: a template name is a single file name (see sm_template_name_valid),
 * so it can only name a file directly inside the user's or the stock
 * directory. The user's copy wins; the stock directory is tried only when the
 * user's has no such file (ENOENT, ENOTDIR), never after a real read error,
 * so that a broken user template is reported rather than silently replaced.
 * Only regular files of at most SM_TEMPLATE_MAX_FILE bytes are read: a FIFO or
 * a device named like a template cannot stall or flood a delivery.
 * A symlink in the user's directory is refused, not followed: that directory
 * may be shared (templates-dir), and whoever can plant a link there could
 * otherwise have any file the user can read mailed to a sender of their
 * choice. The stock directory is the administrator's; links there are fine.
 */
#include "config.h"
#include "templates/tt-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SM_PKGDATADIR
#define SM_PKGDATADIR "/usr/local/share/sortmail"
#endif

#define NAME_MAX_LEN 255

gboolean sm_template_name_valid(const char *name)
{
	if (!name || !*name || name[0] == '.')
		return FALSE;
	gsize len = strlen(name);
	if (len > NAME_MAX_LEN)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		char c = name[i];
		if (!(g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-'))
			return FALSE;
	}
	return strstr(name, "..") == NULL;
}

static const char *stock_dir(const SmTemplateSource *src)
{
	return src->stock_dir ? src->stock_dir : SM_PKGDATADIR "/templates";
}

static gboolean read_fd(int fd, const char *path, GByteArray *buf, GError **error)
{
	guint8 chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO, "cannot read %s: %s",
				    path, g_strerror(errno));
			return FALSE;
		}
		if (n == 0)
			return TRUE;
		if (buf->len + (gsize)n > SM_TEMPLATE_MAX_FILE) {
			g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_LIMIT,
				    "%s is larger than %d bytes", path, SM_TEMPLATE_MAX_FILE);
			return FALSE;
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
}

/* 1: read into *@text; 0: no such file here; -1: error. */
static int read_in(const char *dir, const char *name, gboolean follow, char **text, gsize *len,
                   GError **error)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		if (errno == ELOOP && !follow) {
			g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO,
				    "%s is a symbolic link; refusing to follow it", path);
			return -1;
		}
		g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO, "cannot open %s: %s",
			    path, g_strerror(errno));
		return -1;
	}
	struct stat st;
	gboolean ok = FALSE;
	GByteArray *buf = g_byte_array_new();
	if (fstat(fd, &st) < 0)
		g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO, "cannot stat %s: %s",
			    path, g_strerror(errno));
	else if (!S_ISREG(st.st_mode))
		g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_IO,
			    "%s is not a regular file", path);
	else
		ok = read_fd(fd, path, buf, error);
	close(fd);
	if (!ok) {
		g_byte_array_free(buf, TRUE);
		return -1;
	}
	*len = buf->len;
	g_byte_array_append(buf, (const guint8 *)"", 1);
	*text = (char *)g_byte_array_free(buf, FALSE);
	return 1;
}

char *tt_load(const SmTemplateSource *src, const char *name, gsize *len, GError **error)
{
	char *text = NULL;
	const char *user = src->user_dir && *src->user_dir ? src->user_dir : NULL;
	int rc = user ? read_in(user, name, FALSE, &text, len, error) : 0;
	if (rc == 0)
		rc = read_in(stock_dir(src), name, TRUE, &text, len, error);
	if (rc > 0)
		return text;
	if (rc == 0)
		g_set_error(error, SM_TEMPLATE_ERROR, SM_TEMPLATE_ERROR_NOT_FOUND,
			    "no such template (looked in %s%s%s)", user ? user : "",
			    user ? " and " : "", stock_dir(src));
	return NULL;
}
