/* replay-main.c: main() for a fuzz target built without libFuzzer (gcc,
 * make check): every file of the target's corpus directory (SM_FUZZ_CORPUS,
 * tests/data/fuzz/TARGET/: the curated seeds and the crash fixtures), or of
 * the files and directories named on the command line, goes once through
 * LLVMFuzzerTestOneInput(). Output is TAP, one line per file, so the harness
 * is an ordinary test: an input that breaks an invariant aborts, and the TAP
 * driver reports the file the log names last.
 *
 * Each input is copied into a buffer of exactly its size, as libFuzzer hands
 * it over, so that AddressSanitizer sees a read one byte too far.
 */
#include "config.h"
#include "tests/fuzz/fuzz.h"

#ifndef SM_FUZZ_CORPUS
#error "SM_FUZZ_CORPUS must name the target's corpus directory"
#endif

static int compare_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of @dir (not its subdirectories), sorted, appended to @out. */
static void add_dir(GPtrArray *out, const char *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
	if (!d) {
		printf("Bail out! %s\n", error->message);
		exit(1);
	}
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while ((name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			g_ptr_array_add(files, path);
		else
			g_free(path);
	}
	g_ptr_array_sort(files, compare_paths);
	for (guint i = 0; i < files->len; i++)
		g_ptr_array_add(out, g_strdup(files->pdata[i]));
}

static void run_one(guint n, const char *path)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, &error)) {
		printf("not ok %u - %s\n", n, error->message);
		return;
	}
	/* Announced first: if the input kills the process, the log names it. */
	printf("# %s (%zu bytes)\n", path, (size_t)len);
	fflush(stdout);
	uint8_t *exact = g_malloc(len ? len : 1);
	memcpy(exact, text, len);
	LLVMFuzzerTestOneInput(exact, len);
	g_free(exact);
	printf("ok %u - %s\n", n, path);
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func(g_free);
	if (argc < 2)
		add_dir(inputs, SM_FUZZ_CORPUS);
	for (int i = 1; i < argc; i++) {
		if (g_file_test(argv[i], G_FILE_TEST_IS_DIR))
			add_dir(inputs, argv[i]);
		else
			g_ptr_array_add(inputs, g_strdup(argv[i]));
	}
	if (inputs->len == 0) {
		/* A replay of nothing proves nothing. */
		printf("Bail out! no input\n");
		return 1;
	}
	printf("1..%u\n", inputs->len);
	for (guint i = 0; i < inputs->len; i++)
		run_one(i + 1, inputs->pdata[i]);
	return 0;
}
