/* fuzz-config.c: bytes as ~/.sortmail/config (sortmail/sortmail.h), parsed
 * strictly (sm_config_parse) and for `sortmail check` (sm_config_parse_all);
 * input with a NUL byte also goes through a file (sm_config_load and
 * sm_config_load_all), since only a file can hold one. Then a fixed message
 * is decided with the configuration that parsed.
 *
 * Invariants: the strict parse fails exactly when the lenient one reports a
 * problem, and with the first of them; every problem starts "NAME:LINE: "
 * with a line of the input. What parsed is what sortmail.h and
 * config-rule.c promise: absolute paths, valid folder names, finite
 * numbers, lowercased personal addresses, complete rules (compiled
 * conditions, one action, a folder valid now or expandable from a "to",
 * plain addresses, valid template names, options only with their action,
 * absolute pipe programs, lists defined before use and never with noscore or
 * even-spam) and complete lists. The decision files into the inbox or a
 * valid folder inside the root.
 */
#include "config.h"
#include "tests/fuzz/fuzz.h"
#include "sortmail/sortmail.h"
#include "templates/templates.h"

#include <math.h>
#include <unistd.h>

#define NAME "fuzz.conf"

static const SmEnvelope env = {
	.sender = (char *)"boss@example.com",
	.recipient = (char *)"fred+lists@example.org",
	.original_recipient = NULL,
	.user = (char *)"fred",
	.home = (char *)"/home/fred",
	.extension = (char *)"lists",
};

static const char message[] =
	"Delivered-To: fred+lists@example.org\n"
	"From: Boss <boss@example.com>\n"
	"To: fred@example.org\n"
	"List-Id: <perl.example.org>\n"
	"Subject: hello\n"
	"\n"
	"body\n";

static char *tmp_dir, *tmp_path;

static void remove_tmp(void)
{
	unlink(tmp_path);
	rmdir(tmp_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tmp_dir = g_dir_make_tmp("fuzz-config-XXXXXX", NULL);
	FUZZ_CHECK(tmp_dir != NULL);
	tmp_path = g_build_filename(tmp_dir, NAME, NULL);
	atexit(remove_tmp);
	return 0;
}

static gboolean absolute_or_null(const char *path)
{
	return !path || g_path_is_absolute(path);
}

static gboolean folder_ok(const char *f)
{
	return f && (strcmp(f, "inbox") == 0 || (sm_folder_name_valid(f) && !sm_folder_is_inbox(f)));
}

/* "NAME:LINE" or "NAME:LINE: ..." with 1 <= LINE <= @lines; the rest after. */
static void check_where(const char *name, const char *s, guint lines)
{
	gsize n = strlen(name);
	FUZZ_CHECK(strncmp(s, name, n) == 0 && s[n] == ':');
	char *end = NULL;
	guint64 line = g_ascii_strtoull(s + n + 1, &end, 10);
	FUZZ_CHECK(end != s + n + 1 && line >= 1 && line <= lines);
	FUZZ_CHECK(*end == '\0' || (end[0] == ':' && end[1] == ' '));
}

static void check_list(const SmList *l, const char *name, guint lines)
{
	FUZZ_CHECK(l->name && *l->name && strlen(l->name) <= 64);
	for (const char *q = l->name; *q; q++)
		FUZZ_CHECK(g_ascii_isalnum(*q) || strchr("._-", *q));
	FUZZ_CHECK(strcmp(l->file, name) == 0 && l->line >= 1 && l->line <= lines);
	FUZZ_CHECK(l->members && g_path_is_absolute(l->members));
	FUZZ_CHECK(absolute_or_null(l->moderators));
	FUZZ_CHECK(l->bounce && sm_address_is_plain(l->bounce));
	FUZZ_CHECK(l->post && sm_address_is_plain(l->post));
	FUZZ_CHECK(l->id && *l->id && strchr(l->id, '.') && !strstr(l->id, ".."));
	FUZZ_CHECK(!fuzz_has_control(l->id) && !strchr(l->id, ' '));
	FUZZ_CHECK(!l->tag || (*l->tag && !fuzz_has_control(l->tag)));
	FUZZ_CHECK(folder_ok(l->hold));
}

static gboolean has_positive_to(const SmRule *r)
{
	for (guint i = 0; i < r->conds->len; i++) {
		const SmCondition *cond = r->conds->pdata[i];
		if (cond->kind == SM_COND_TO && !cond->negate)
			return TRUE;
	}
	return FALSE;
}

static void check_rule(const SmConfig *c, const SmRule *r, const char *name, guint lines)
{
	FUZZ_CHECK(strcmp(r->file, name) == 0 && r->line >= 1 && r->line <= lines);
	for (guint i = 0; i < r->conds->len; i++) {
		const SmCondition *cond = r->conds->pdata[i];
		FUZZ_CHECK(cond->re && cond->pattern);
		FUZZ_CHECK((cond->kind == SM_COND_HEADER) == (cond->header != NULL));
		if (cond->header)
			FUZZ_CHECK(*cond->header && !strchr(cond->header, ':') &&
			           !strchr(cond->header, ' ') && !fuzz_has_control(cond->header));
	}
	gboolean outbound = r->pipe || r->forward || r->rebroadcast;
	if (r->action == SM_ACTION_DISCARD) {
		FUZZ_CHECK(!r->folder && !outbound);
	} else {
		FUZZ_CHECK(r->action == SM_ACTION_FOLDER && r->folder);
		FUZZ_CHECK(strchr(r->folder, '$') ? has_positive_to(r) : folder_ok(r->folder));
	}
	FUZZ_CHECK(!r->file_on_failure || outbound);
	if (r->autorespond)
		FUZZ_CHECK(sm_template_name_valid(r->autorespond) && r->reply_every > 0);
	else
		FUZZ_CHECK(!r->reply_every && !r->vacation && !r->reply_from);
	FUZZ_CHECK(!r->reply_from || sm_address_is_plain(r->reply_from));
	FUZZ_CHECK(r->pipe || (!r->pipe_shell && !r->pipe_defer && !r->pipe_argv));
	if (r->pipe && !r->pipe_shell)
		FUZZ_CHECK(r->pipe_argv && r->pipe_argv[0] && g_path_is_absolute(r->pipe_argv[0]));
	if (r->forward) {
		FUZZ_CHECK(r->forward->len > 0);
		for (guint i = 0; i < r->forward->len; i++)
			FUZZ_CHECK(sm_address_is_plain(r->forward->pdata[i]));
	}
	FUZZ_CHECK(r->forward || (!r->forward_sender && !r->forward_spam));
	FUZZ_CHECK(!r->forward_sender || sm_address_is_plain(r->forward_sender));
	if (r->rebroadcast) {
		FUZZ_CHECK(!r->noscore && !r->even_spam);
		FUZZ_CHECK(sm_config_find_list(c, r->rebroadcast->name) == r->rebroadcast);
		FUZZ_CHECK(r->rebroadcast->line < r->line);
	}
}

static void check_config(const SmConfig *c, const char *name, guint lines)
{
	FUZZ_CHECK(c->path && strcmp(c->path, name) == 0);
	FUZZ_CHECK(c->mailbox_root && g_path_is_absolute(c->mailbox_root));
	if (c->format == SM_FORMAT_MBOX)
		FUZZ_CHECK(c->mbox_inbox && g_path_is_absolute(c->mbox_inbox));
	else
		FUZZ_CHECK(c->format == SM_FORMAT_MAILDIR && !c->mbox_inbox);
	FUZZ_CHECK(folder_ok(c->ube_folder) && folder_ok(c->ubetrap_folder));
	FUZZ_CHECK(isfinite(c->required_score));
	for (guint i = 0; i < c->personal->len; i++) {
		const char *p = c->personal->pdata[i];
		g_autofree char *lower = g_ascii_strdown(p, -1);
		FUZZ_CHECK(*p && strcmp(p, lower) == 0);
	}
	for (guint i = 0; i < c->unplus->len; i++) {
		const SmUnplus *u = c->unplus->pdata[i];
		FUZZ_CHECK(u->re && u->pattern && u->replacement);
	}
	for (guint i = 0; i < c->rule_files->len; i++)
		FUZZ_CHECK(g_path_is_absolute(c->rule_files->pdata[i]));
	FUZZ_CHECK(absolute_or_null(c->log_file) && absolute_or_null(c->scorer_module));
	FUZZ_CHECK(absolute_or_null(c->cache_path) && absolute_or_null(c->rule_cache));
	FUZZ_CHECK(absolute_or_null(c->templates_dir) && absolute_or_null(c->reply_memory));
	FUZZ_CHECK(c->sendmail && c->sendmail->len > 0 &&
	           g_path_is_absolute(c->sendmail->pdata[0]));
	for (guint i = 0; i < c->scorer_settings->len; i++)
		check_where(name, c->scorer_settings->pdata[i], lines);
	for (guint i = 0; i < c->lists->len; i++)
		check_list(c->lists->pdata[i], name, lines);
	for (guint i = 0; i < c->rules->len; i++)
		check_rule(c, c->rules->pdata[i], name, lines);
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, c->origins);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		check_where(name, value, lines);
		FUZZ_CHECK(sm_config_origin(c, key) == value);
	}
}

static void check_decision(const SmConfig *c)
{
	SmMessage m;
	sm_message_index(&m, message, sizeof message - 1);
	SmRecipient r;
	sm_recipient_recover(c, &env, &m, &r);
	SmDecision d;
	sm_decide(c, &env, &m, r.address, NULL, NULL, &d);
	FUZZ_CHECK(d.rule == sm_decide_first_rule(c, &env, &m, r.address));
	if (d.discard) {
		FUZZ_CHECK(!d.folder && d.rule && d.rule->action == SM_ACTION_DISCARD);
	} else {
		FUZZ_CHECK(folder_ok(d.folder));
		g_autofree char *path = sm_folder_path(c, d.folder);
		FUZZ_CHECK(g_str_has_prefix(path, c->format == SM_FORMAT_MBOX &&
		                                  strcmp(d.folder, "inbox") == 0
		                                  ? c->mbox_inbox : c->mailbox_root));
	}
	if (d.reply) {
		g_autofree char *detail = NULL;
		(void)sm_autorespond_veto(c, d.reply, &env, &m, NULL, &detail);
	}
	sm_decision_clear(&d);
	sm_recipient_clear(&r);
	sm_message_clear(&m);
}

/* Strict and lenient agree; the problems name lines of the input. */
static void check_pair(SmConfig *strict, GError *error, SmConfig *all, GPtrArray *problems,
                       const char *name, guint lines)
{
	FUZZ_CHECK(all != NULL);
	FUZZ_CHECK((strict != NULL) == (problems->len == 0));
	FUZZ_CHECK((strict != NULL) == (error == NULL));
	if (error) {
		FUZZ_CHECK(error->domain == SM_CONFIG_ERROR && error->code == SM_CONFIG_ERROR_PARSE);
		FUZZ_CHECK(strcmp(error->message, problems->pdata[0]) == 0);
	}
	for (guint i = 0; i < problems->len; i++)
		check_where(name, problems->pdata[i], lines);
	check_config(all, name, lines);
	if (strict) {
		check_config(strict, name, lines);
		FUZZ_CHECK(strict->rules->len == all->rules->len);
		check_decision(strict);
	}
	check_decision(all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	guint lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';

	g_autofree char *text = fuzz_cstring(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(SmConfig) strict = sm_config_parse(text, NAME, &env, &error);
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(SmConfig) all = sm_config_parse_all(text, NAME, &env, problems);
	check_pair(strict, error, all, problems, NAME, lines);

	if (!memchr(data, '\0', size))
		return 0;
	FUZZ_CHECK(fuzz_write_file(tmp_path, data, size));
	g_autoptr(GError) load_error = NULL;
	g_autoptr(SmConfig) loaded = sm_config_load(tmp_path, &env, &load_error);
	g_autoptr(GPtrArray) load_problems = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(SmConfig) loaded_all = sm_config_load_all(tmp_path, &env, load_problems);
	check_pair(loaded, load_error, loaded_all, load_problems, tmp_path, lines);
	FUZZ_CHECK(!loaded);  /* the line with the NUL byte is an error */
	return 0;
}
