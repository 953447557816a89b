/* inject.c: an LD_PRELOAD shim for syscall fault injection (tests only).
 *
 * Contract: makes the Nth counted call of one libc function fail with a given
 * errno, without performing it. Counted functions: write, writev, fsync,
 * fdatasync, ftruncate, close (on fds the process opened under the prefix),
 * open/openat (and their 64/fortified aliases), mkdir, rename, link, linkat
 * (on paths under the prefix). A failed close still closes the fd, as Linux
 * does, so the fault is only in what the caller is told.
 *
 * Settings, KEY=VALUE, from the environment or, when SM_FAULT_PREFIX is not
 * set there (lib.sh's deliver scrubs the environment but keeps LD_PRELOAD),
 * from the file "<path of this .so>.conf", one per line:
 *   SM_FAULT_PREFIX  directory whose paths and fds are counted (required;
 *                    without it the shim does nothing)
 *   SM_FAULT_CALL    function name to fail ("open" covers openat too)
 *   SM_FAULT_N       which counted call of it fails (1 = first)
 *   SM_FAULT_ERRNO   ENOSPC, EIO, EDQUOT, EROFS, EACCES or a number
 *   SM_FAULT_COUNT   a file: at exit, "NAME COUNT" lines (calls counted, the
 *                    failed one included) and "fired 0|1" are written there
 *                    (at exit(), not at _exit() or a fatal signal)
 *   SM_FAULT_SHORT   if 1 (write and writev only), the Nth call writes about
 *                    half its bytes and returns that short count, and call
 *                    N+1 fails: how a filling disk looks to a writer
 *   SM_FAULT_EXE     if set, only a process whose /proc/self/exe is this
 *                    file is active (programs it runs are left alone)
 * Forked children stop counting (they share nothing with the count file).
 * Relative paths are resolved against the working directory; *at() calls
 * count when their dirfd is one opened under the prefix. Calls libc makes
 * internally (stdio, mkstemp) bypass the shim and are never counted. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum kind { K_WRITE, K_WRITEV, K_FSYNC, K_FDATASYNC, K_FTRUNCATE, K_CLOSE,
	    K_OPEN, K_MKDIR, K_RENAME, K_LINK, K_N };
static const char *const kind_names[K_N] = {
	"write", "writev", "fsync", "fdatasync", "ftruncate", "close",
	"open", "mkdir", "rename", "link",
};

#define MAX_FD 4096
static char prefix[PATH_MAX];
static size_t prefix_len;
static int target = -1;        /* enum kind, or -1: count only */
static long fail_at;
static int fail_errno = EIO;
static char count_file[PATH_MAX];
static char exe[PATH_MAX];
static long counts[K_N];
static int fired;
static int short_mode;
static int active;             /* cleared in forked children */
static unsigned char tracked[MAX_FD];

static void set_key(const char *key, const char *val)
{
	if (strcmp(key, "SM_FAULT_PREFIX") == 0) {
		snprintf(prefix, sizeof prefix, "%s", val);
		prefix_len = strlen(prefix);
		while (prefix_len > 1 && prefix[prefix_len - 1] == '/')
			prefix[--prefix_len] = '\0';
	} else if (strcmp(key, "SM_FAULT_CALL") == 0) {
		for (int k = 0; k < K_N; k++)
			if (strcmp(val, kind_names[k]) == 0)
				target = k;
		if (strcmp(val, "openat") == 0)
			target = K_OPEN;
		if (strcmp(val, "linkat") == 0)
			target = K_LINK;
	} else if (strcmp(key, "SM_FAULT_N") == 0) {
		fail_at = strtol(val, NULL, 10);
	} else if (strcmp(key, "SM_FAULT_ERRNO") == 0) {
		static const struct { const char *n; int e; } names[] = {
			{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EDQUOT", EDQUOT },
			{ "EROFS", EROFS }, { "EACCES", EACCES }, { "EINTR", EINTR },
		};
		fail_errno = atoi(val);
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(val, names[i].n) == 0)
				fail_errno = names[i].e;
	} else if (strcmp(key, "SM_FAULT_COUNT") == 0) {
		snprintf(count_file, sizeof count_file, "%s", val);
	} else if (strcmp(key, "SM_FAULT_SHORT") == 0) {
		short_mode = atoi(val) == 1;
	} else if (strcmp(key, "SM_FAULT_EXE") == 0) {
		snprintf(exe, sizeof exe, "%s", val);
	}
}

/* The settings file sits next to the shim, so a scrubbed environment that
 * keeps only LD_PRELOAD still reaches it. Read with stdio: its internal
 * open/read calls are not interposed. */
static void read_conf_file(void)
{
	Dl_info info;
	if (!dladdr((void *)read_conf_file, &info) || !info.dli_fname)
		return;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s.conf", info.dli_fname);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[PATH_MAX + 32];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		set_key(line, eq + 1);
	}
	fclose(f);
}

static void stop_in_child(void)
{
	active = 0;
}

__attribute__((constructor)) static void inject_init(void)
{
	static const char *const keys[] = { "SM_FAULT_PREFIX", "SM_FAULT_CALL",
		"SM_FAULT_N", "SM_FAULT_ERRNO", "SM_FAULT_COUNT", "SM_FAULT_EXE", "SM_FAULT_SHORT" };
	if (getenv("SM_FAULT_PREFIX")) {
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (getenv(keys[i]))
				set_key(keys[i], getenv(keys[i]));
	} else {
		read_conf_file();
	}
	if (prefix_len == 0)
		return;
	if (exe[0]) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n < 0)
			return;
		self[n] = '\0';
		if (strcmp(self, exe) != 0)
			return;
	}
	pthread_atfork(NULL, NULL, stop_in_child);
	active = 1;
}

__attribute__((destructor)) static void inject_fini(void)
{
	if (!active || !count_file[0])
		return;
	active = 0;
	FILE *f = fopen(count_file, "we");
	if (!f)
		return;
	for (int k = 0; k < K_N; k++)
		fprintf(f, "%s %ld\n", kind_names[k], __atomic_load_n(&counts[k], __ATOMIC_SEQ_CST));
	fprintf(f, "fired %d\n", fired);
	fclose(f);
}

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* One counted call of kind k: nonzero when this one must fail. */
static int hit(enum kind k)
{
	long n = __atomic_add_fetch(&counts[k], 1, __ATOMIC_SEQ_CST);
	if ((int)k != target)
		return 0;
	if (n == fail_at && !short_mode) {
		fired = 1;
		return 1;
	}
	return short_mode && n == fail_at + 1;
}

/* In short mode: is this the call that writes only part? */
static int short_hit(enum kind k)
{
	if (!short_mode || (int)k != target
	    || __atomic_load_n(&counts[k], __ATOMIC_SEQ_CST) + 1 != fail_at)
		return 0;
	__atomic_add_fetch(&counts[k], 1, __ATOMIC_SEQ_CST);
	fired = 1;
	return 1;
}

static int under_prefix(const char *abs)
{
	return strncmp(abs, prefix, prefix_len) == 0
	    && (abs[prefix_len] == '/' || abs[prefix_len] == '\0');
}

static int fd_tracked(int fd)
{
	return active && fd >= 0 && fd < MAX_FD && tracked[fd];
}

/* Is dirfd+path under the prefix? */
static int path_counted(int dirfd, const char *path)
{
	if (!active || !path)
		return 0;
	if (path[0] == '/')
		return under_prefix(path);
	if (dirfd != AT_FDCWD)
		return fd_tracked(dirfd);
	char cwd[PATH_MAX], full[2 * PATH_MAX + 2];
	if (!getcwd(cwd, sizeof cwd))
		return 0;
	snprintf(full, sizeof full, "%s/%s", cwd, path);
	return under_prefix(full);
}

static void track(int fd, int counted)
{
	if (fd >= 0 && fd < MAX_FD)
		tracked[fd] = (unsigned char)counted;
}

/* ---- fd calls ------------------------------------------------------------ */

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(write);
	if (fd_tracked(fd) && len > 1 && short_hit(K_WRITE))
		return real_write(fd, buf, len / 2);
	if (fd_tracked(fd) && hit(K_WRITE)) {
		errno = fail_errno;
		return -1;
	}
	return real_write(fd, buf, len);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev);
	REAL(write);
	if (fd_tracked(fd) && n > 0 && short_hit(K_WRITEV)) {
		/* half of the first non-empty buffer: a short count all the same */
		int i = 0;
		while (i < n - 1 && iov[i].iov_len < 2)
			i++;
		if (iov[i].iov_len >= 2) {
			if (i > 0)
				return real_writev(fd, iov, i);
			return real_write(fd, iov[0].iov_base, iov[0].iov_len / 2);
		}
	}
	if (fd_tracked(fd) && hit(K_WRITEV)) {
		errno = fail_errno;
		return -1;
	}
	return real_writev(fd, iov, n);
}

int fsync(int fd)
{
	REAL(fsync);
	if (fd_tracked(fd) && hit(K_FSYNC)) {
		errno = fail_errno;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(fdatasync);
	if (fd_tracked(fd) && hit(K_FDATASYNC)) {
		errno = fail_errno;
		return -1;
	}
	return real_fdatasync(fd);
}

int ftruncate(int fd, off_t len)
{
	REAL(ftruncate);
	if (fd_tracked(fd) && hit(K_FTRUNCATE)) {
		errno = fail_errno;
		return -1;
	}
	return real_ftruncate(fd, len);
}

int close(int fd)
{
	REAL(close);
	int fail = fd_tracked(fd) && hit(K_CLOSE);
	track(fd, 0);
	int rc = real_close(fd);
	if (fail) {
		errno = fail_errno;
		return -1;
	}
	return rc;
}

/* ---- path calls ---------------------------------------------------------- */

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	static int (*real)(int, const char *, int, ...);
	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	int counted = path_counted(dirfd, path);
	if (counted && hit(K_OPEN)) {
		errno = fail_errno;
		return -1;
	}
	int fd = real(dirfd, path, flags, mode);
	track(fd, counted);
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		return (mode_t)va_arg(ap, int);
	return 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags, m);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags, m);
}

/* _FORTIFY_SOURCE routes open() calls without a mode here. */
int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

int mkdir(const char *path, mode_t mode)
{
	REAL(mkdir);
	if (path_counted(AT_FDCWD, path) && hit(K_MKDIR)) {
		errno = fail_errno;
		return -1;
	}
	return real_mkdir(path, mode);
}

int rename(const char *from, const char *to)
{
	REAL(rename);
	if ((path_counted(AT_FDCWD, from) || path_counted(AT_FDCWD, to)) && hit(K_RENAME)) {
		errno = fail_errno;
		return -1;
	}
	return real_rename(from, to);
}

int link(const char *from, const char *to)
{
	REAL(link);
	if ((path_counted(AT_FDCWD, from) || path_counted(AT_FDCWD, to)) && hit(K_LINK)) {
		errno = fail_errno;
		return -1;
	}
	return real_link(from, to);
}

int linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
	REAL(linkat);
	if ((path_counted(fromfd, from) || path_counted(tofd, to)) && hit(K_LINK)) {
		errno = fail_errno;
		return -1;
	}
	return real_linkat(fromfd, from, tofd, to, flags);
}
