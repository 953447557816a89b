/* fuzz.h: what every fuzz target in tests/fuzz/ shares.
 *
 * A target is one LLVMFuzzerTestOneInput() over a module's public header;
 * it is linked either with libFuzzer (configure --enable-fuzzing, clang) or
 * with replay-main.c, which runs the committed corpus once (make check).
 * A target checks the invariants the module promises and abort()s on the
 * first one that does not hold, so that both drivers report it as a crash.
 */
#ifndef SM_FUZZ_H
#define SM_FUZZ_H

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fails the input: names the invariant, then abort() (a crash to libFuzzer
 * and to the TAP driver alike). */
#define FUZZ_CHECK(cond)                                                        \
	do {                                                                    \
		if (G_UNLIKELY(!(cond))) {                                      \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
			        __LINE__, #cond);                               \
			abort();                                                \
		}                                                               \
	} while (0)

/* Where the build and the sources are, so that a target run by hand (a
 * crash being reproduced) finds the modules and the stock data as make check
 * does; an environment variable already set wins. */
#ifndef SM_FUZZ_BUILDDIR
#error "SM_FUZZ_BUILDDIR must name the build tree"
#endif
#ifndef SM_FUZZ_SRCDIR
#error "SM_FUZZ_SRCDIR must name the source tree"
#endif

static inline void fuzz_default_env(void)
{
	g_setenv("SORTMAIL_SCORER", SM_FUZZ_BUILDDIR "/score/.libs/sortmail-score.so", FALSE);
	g_setenv("SORTMAIL_DATADIR", SM_FUZZ_SRCDIR "/score", FALSE);
	g_setenv("SORTMAIL_REPLY_MODULE", SM_FUZZ_BUILDDIR "/templates/.libs/sortmail-reply.so",
	         FALSE);
	g_setenv("SORTMAIL_STOCK_TEMPLATES", SM_FUZZ_SRCDIR "/templates/stock", FALSE);
}

/* The input as a C string: a copy up to the first NUL byte. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	return g_strndup((const char *)data, size);
}

/* Splits the first line (without its newline) off *@data; NULL when there is
 * no newline left, in which case nothing is taken. */
static inline char *fuzz_take_line(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	if (!nl)
		return NULL;
	char *line = g_strndup((const char *)*data, (gsize)(nl - *data));
	*size -= (size_t)(nl - *data) + 1;
	*data = nl + 1;
	return line;
}

/* Writes @len bytes to @path; no fsync (g_file_set_contents() syncs a file
 * it replaces, which would make the disk, not the code, the bottleneck). */
static inline gboolean fuzz_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return FALSE;
	gboolean ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

/* TRUE when @s has a byte below 0x20 or 0x7f. */
static inline gboolean fuzz_has_control(const char *s)
{
	for (; *s; s++)
		if ((guchar)*s < 0x20 || *s == 0x7f)
			return TRUE;
	return FALSE;
}

#endif
