/* test-folder.c: folder-name validation (sortmail/folder.c). */
#include "config.h"
#include "sortmail/sortmail.h"

#include <string.h>

static void test_valid(void)
{
	static const char *const ok[] = {
		"ube", "ubetrap", "inbox", "INBOX", "a.b", "lists.perl.misc", "ex-fred",
		"with space", "x~y", "caf\xc3\xa9", "1", "lock",
		"a.locked", "-", "$", "Sent Items",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(ok); i++)
		if (!sm_folder_name_valid(ok[i]))
			g_error("refused \"%s\"", ok[i]);
}

static void test_hostile(void)
{
	static const char *const bad[] = {
		"", "..", ".", "../../etc", "../x", "a/b", "/etc/passwd", "a/../b", ".hidden",
		"x.", "a..b", "x\n", "x\r", "\tx", "a\x7f", "a\x01" "b", "new/", "foo.lock",
		"x.LOCK", "inbox/..", "...",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		if (sm_folder_name_valid(bad[i])) {
			g_autofree char *shown = g_strescape(bad[i], NULL);
			g_error("accepted \"%s\"", shown);
		}
	g_assert_false(sm_folder_name_valid(NULL));
}

static void test_length(void)
{
	char name[202];
	memset(name, 'x', sizeof name);
	name[200] = '\0';
	g_assert_true(sm_folder_name_valid(name));
	name[200] = 'x';
	name[201] = '\0';
	g_assert_false(sm_folder_name_valid(name));
}

static void test_inbox(void)
{
	g_assert_true(sm_folder_is_inbox("inbox"));
	g_assert_true(sm_folder_is_inbox("InBoX"));
	g_assert_false(sm_folder_is_inbox("inbox.sub"));
	g_assert_false(sm_folder_is_inbox("inbox "));
	g_assert_false(sm_folder_is_inbox(""));
	g_assert_false(sm_folder_is_inbox(NULL));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/folder/valid", test_valid);
	g_test_add_func("/folder/hostile", test_hostile);
	g_test_add_func("/folder/length", test_length);
	g_test_add_func("/folder/inbox", test_inbox);
	return g_test_run();
}
