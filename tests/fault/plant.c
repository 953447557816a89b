/* plant.c: an LD_PRELOAD shim for the security tests (tests only).
 *
 * Contract: wraps open() (and open64, link, linkat) of the program, to stage two things a
 * test cannot arrange from outside because the program picks the file names:
 *   - the attacker who guessed a name: just before an open() with O_CREAT of
 *     a path directly inside SM_PLANT_DIR, a symlink to SM_PLANT_TARGET is
 *     made at that path, then the real open() runs (it must refuse it);
 *   - a look at a short-lived file: right after an open() with O_CREAT (or a
 *     link) of a path ending in SM_PLANT_STOP succeeds, the process stops itself
 *     (SIGSTOP) so the test can stat the file, and goes on at SIGCONT.
 * Settings, KEY=VALUE lines, come from the file "<path of this .so>.conf"
 * (the tests' deliver scrubs the environment but keeps LD_PRELOAD):
 *   SM_PLANT_DIR, SM_PLANT_TARGET, SM_PLANT_STOP as above; SM_PLANT_EXE: only
 *   a process whose /proc/self/exe is this file is affected. Forked children
 *   never are. Planted symlinks are counted into SM_PLANT_COUNT at exit. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char plant_dir[PATH_MAX], plant_target[PATH_MAX], stop_suffix[PATH_MAX];
static char count_file[PATH_MAX];
static int active;
static long planted;

static void set_key(const char *key, const char *val)
{
	if (strcmp(key, "SM_PLANT_DIR") == 0)
		snprintf(plant_dir, sizeof plant_dir, "%s", val);
	else if (strcmp(key, "SM_PLANT_TARGET") == 0)
		snprintf(plant_target, sizeof plant_target, "%s", val);
	else if (strcmp(key, "SM_PLANT_STOP") == 0)
		snprintf(stop_suffix, sizeof stop_suffix, "%s", val);
	else if (strcmp(key, "SM_PLANT_COUNT") == 0)
		snprintf(count_file, sizeof count_file, "%s", val);
}

static int right_exe(const char *want)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		return 0;
	self[n] = '\0';
	return strcmp(self, want) == 0;
}

static void leave_children_alone(void)
{
	active = 0;
}

__attribute__((constructor)) static void plant_init(void)
{
	Dl_info info;
	if (!dladdr((void *)plant_init, &info) || !info.dli_fname)
		return;
	char path[PATH_MAX], line[PATH_MAX + 32], exe[PATH_MAX] = "";
	snprintf(path, sizeof path, "%s.conf", info.dli_fname);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (strcmp(line, "SM_PLANT_EXE") == 0)
			snprintf(exe, sizeof exe, "%s", eq + 1);
		else
			set_key(line, eq + 1);
	}
	fclose(f);
	if (exe[0] && !right_exe(exe))
		return;
	pthread_atfork(NULL, NULL, leave_children_alone);
	active = 1;
}

__attribute__((destructor)) static void plant_fini(void)
{
	if (!active || !count_file[0])
		return;
	FILE *f = fopen(count_file, "we");
	if (f) {
		fprintf(f, "planted %ld\n", planted);
		fclose(f);
	}
}

/* Is @path a direct entry of plant_dir? */
static int in_plant_dir(const char *path)
{
	size_t n = strlen(plant_dir);
	if (!n || strncmp(path, plant_dir, n) != 0)
		return 0;
	const char *rest = path + n;
	if (*rest == '/')
		rest++;
	else if (plant_dir[n - 1] != '/')
		return 0;
	return *rest && !strchr(rest, '/');
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return b && a >= b && strcmp(s + a - b, suffix) == 0;
}

static void before(const char *path, int flags)
{
	if (active && (flags & O_CREAT) && plant_target[0] && in_plant_dir(path)
	    && symlink(plant_target, path) == 0)
		planted++;
}

static void after(const char *path, int flags, int fd)
{
	if (active && fd >= 0 && (flags & O_CREAT) && ends_with(path, stop_suffix))
		raise(SIGSTOP);
}

#define WRAP_OPEN(name)                                                            \
	int name(const char *path, int flags, ...)                                 \
	{                                                                          \
		static __typeof__(name) *real;                                     \
		if (!real)                                                         \
			real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);        \
		mode_t mode = 0;                                                   \
		if (flags & (O_CREAT | __O_TMPFILE)) {                             \
			va_list ap;                                                \
			va_start(ap, flags);                                       \
			mode = (mode_t)va_arg(ap, int);                            \
			va_end(ap);                                                \
		}                                                                  \
		before(path, flags);                                               \
		int fd = real(path, flags, mode);                                  \
		after(path, flags, fd);                                            \
		return fd;                                                         \
	}

WRAP_OPEN(open)
WRAP_OPEN(open64)

/* A file may also come into being under its name by a link (the mbox
 * dotlock is written in an O_TMPFILE, then linked into place). */
int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	static __typeof__(linkat) *real;
	if (!real)
		real = (__typeof__(linkat) *)dlsym(RTLD_NEXT, "linkat");
	int r = real(olddirfd, oldpath, newdirfd, newpath, flags);
	if (active && r == 0 && ends_with(newpath, stop_suffix))
		raise(SIGSTOP);
	return r;
}

int link(const char *oldpath, const char *newpath)
{
	static __typeof__(link) *real;
	if (!real)
		real = (__typeof__(link) *)dlsym(RTLD_NEXT, "link");
	int r = real(oldpath, newpath);
	if (active && r == 0 && ends_with(newpath, stop_suffix))
		raise(SIGSTOP);
	return r;
}
