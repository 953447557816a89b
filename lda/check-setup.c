/* check-setup.c: `sortmail check` (see check-setup.h): everything a delivery
 * under one configuration depends on, checked at once, every problem named.
 *
 * Errors are what a delivery would refuse or skip: a configuration line that
 * does not parse (deliveries then defer every message), a rule file line the
 * scorer skips, a template that does not render, a rule whose template does
 * not exist. Warnings are set-ups that parse but lose or leak mail: a
 * mailbox that cannot be written, a verdict cache others can write, a
 * sendmail or pipe program that cannot run, a log file that cannot be
 * written. Templates are rendered by the reply module itself
 * (check-templates.c), against a built-in sample message.
 *
 * Nothing here writes: directories and files are looked at with stat() and
 * access(), never created.
 */
#include "config.h"
#include "lda.h"
#include "check-setup.h"
#include "check-priv.h"
#include "verdicts.h"
#include "score/score.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sm_findings_init(SmFindings *f)
{
	f->errors = g_ptr_array_new_with_free_func(g_free);
	f->warnings = g_ptr_array_new_with_free_func(g_free);
	f->seen = g_hash_table_new(g_str_hash, g_str_equal);
}

void sm_findings_clear(SmFindings *f)
{
	g_hash_table_destroy(f->seen);
	g_ptr_array_free(f->errors, TRUE);
	g_ptr_array_free(f->warnings, TRUE);
}

/* Each text once: an included template's error shows up for every includer. */
static void add_once(SmFindings *f, GPtrArray *to, char *text)
{
	if (g_hash_table_contains(f->seen, text)) {
		g_free(text);
		return;
	}
	g_ptr_array_add(to, text);
	g_hash_table_add(f->seen, text);
}

void sm_findings_error(SmFindings *f, const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	add_once(f, f->errors, where ? g_strdup_printf("%s: %s", where, msg) : g_strdup(msg));
}

void sm_findings_warning(SmFindings *f, const char *where, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	add_once(f, f->warnings, g_strdup_printf("%s: warning: %s", where, msg));
}

/* "FILE:LINE" of the line that set @keyword, or the file alone for a default. */
static const char *where_set(const SmConfig *c, const char *keyword)
{
	const char *at = sm_config_origin(c, keyword);
	return at ? at : c->path ? c->path : "(defaults)";
}

/* ---- files and programs ------------------------------------------------------ */

/* The nearest existing ancestor of @path (newly allocated). */
static char *existing_ancestor(const char *path)
{
	char *dir = g_path_get_dirname(path);
	struct stat st;
	while (stat(dir, &st) < 0 && strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
		char *up = g_path_get_dirname(dir);
		g_free(dir);
		dir = up;
	}
	return dir;
}

/* Why a delivery could not write into directory @dir (creating it when
 * missing, as the Maildir backend does), or NULL when it could. */
static char *dir_problem(const char *dir, gboolean creatable)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return g_strdup("is not a directory");
		if (st.st_uid != geteuid())
			return g_strdup_printf("belongs to another user (uid %u); deliveries refuse it",
			                       (unsigned)st.st_uid);
		if (access(dir, W_OK | X_OK) < 0)
			return g_strdup_printf("is not writable: %s", g_strerror(errno));
		return NULL;
	}
	if (errno != ENOENT)
		return g_strdup_printf("cannot be used (%s)", g_strerror(errno));
	g_autofree char *up = creatable ? existing_ancestor(dir) : g_path_get_dirname(dir);
	if (access(up, W_OK | X_OK) < 0)
		return g_strdup_printf("does not exist and cannot be created (%s: %s)", up,
		                       g_strerror(errno));
	return NULL;
}

/* Why a file that is appended to (or created) could not be, or NULL. */
static char *file_problem(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return g_strdup("is not a regular file");
		if (access(path, W_OK) < 0)
			return g_strdup_printf("is not writable: %s", g_strerror(errno));
		return NULL;
	}
	if (errno != ENOENT)
		return g_strdup_printf("cannot be used (%s)", g_strerror(errno));
	g_autofree char *dir = g_path_get_dirname(path);
	if (access(dir, W_OK | X_OK) < 0)
		return g_strdup_printf("does not exist and cannot be created (%s: %s)", dir,
		                       g_strerror(errno));
	return NULL;
}

static char *program_problem(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return g_strdup_printf("does not exist (%s)", g_strerror(errno));
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		return g_strdup("is not an executable file");
	return NULL;
}

static void check_mailbox(const SmConfig *c, SmFindings *f)
{
	const char *kw = c->format == SM_FORMAT_MBOX ? "mbox" : "maildir";
	const char *what = c->format == SM_FORMAT_MBOX ? "mbox folder directory" : "Maildir root";
	g_autofree char *why = dir_problem(c->mailbox_root, TRUE);
	if (why)
		sm_findings_warning(f, where_set(c, kw), "%s %s %s: every delivery will be "
		                    "deferred", what, c->mailbox_root, why);
	if (c->format != SM_FORMAT_MBOX || !c->mbox_inbox)
		return;
	g_autofree char *inbox = file_problem(c->mbox_inbox);
	if (inbox)
		sm_findings_warning(f, where_set(c, kw), "mbox inbox %s %s: deliveries to the inbox "
		                    "will be deferred", c->mbox_inbox, inbox);
}

/* Group- or world-writable: anyone in the group can plant verdicts. */
static void check_cache_file(const SmConfig *c, const char *path, gboolean dir, SmFindings *f)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return;
	mode_t w = st.st_mode & (c->cache_shared ? S_IWOTH : (S_IWGRP | S_IWOTH));
	if (dir && (st.st_mode & S_ISVTX) && !(st.st_mode & S_IWGRP))
		w = 0; /* a sticky, world-writable directory (/tmp) protects the files */
	if (!w)
		return;
	sm_findings_warning(f, where_set(c, "cache"), "%s %s is %s-writable (mode %04o): whoever "
	                    "can write it decides which mail is spam%s", dir ? "cache directory"
	                    : "cache file", path, (w & S_IWOTH) ? "world" : "group",
	                    (unsigned)(st.st_mode & 07777), c->cache_shared ? ""
	                    : "; make it 0600, or say 'cache-shared yes' if sharing is deliberate");
}

static void check_cache(const SmConfig *c, SmFindings *f)
{
	if (!c->cache_path)
		return;
	g_autofree char *dir = g_path_get_dirname(c->cache_path);
	g_autofree char *lock = g_strconcat(c->cache_path, ".lock", NULL);
	check_cache_file(c, dir, TRUE, f);
	check_cache_file(c, c->cache_path, FALSE, f);
	check_cache_file(c, lock, FALSE, f);
	struct stat st;
	if (stat(dir, &st) == 0 && st.st_uid != geteuid())
		sm_findings_warning(f, where_set(c, "cache"), "cache directory %s belongs to another "
		                    "user (uid %u): deliveries do not use the cache", dir,
		                    (unsigned)st.st_uid);
}

static gboolean sends_mail(const SmConfig *c)
{
	for (guint i = 0; i < c->rules->len; i++) {
		const SmRule *r = c->rules->pdata[i];
		if (r->autorespond || r->forward)
			return TRUE;
	}
	return FALSE;
}

static void check_programs(const SmConfig *c, SmFindings *f)
{
	g_autofree char *why = program_problem(c->sendmail->pdata[0]);
	if (why)
		sm_findings_warning(f, where_set(c, "sendmail"), "sendmail command %s %s: %s",
		                    (char *)c->sendmail->pdata[0], why, sends_mail(c)
		                    ? "automatic replies and forwards will fail"
		                    : "no rule sends mail yet, but one that does will fail");
	for (guint i = 0; i < c->rules->len; i++) {
		const SmRule *r = c->rules->pdata[i];
		const char *prog = r->pipe_shell ? "/bin/sh" : r->pipe_argv ? r->pipe_argv[0] : NULL;
		g_autofree char *pwhy = prog ? program_problem(prog) : NULL;
		g_autofree char *at = g_strdup_printf("%s:%u", r->file, r->line);
		if (pwhy)
			sm_findings_warning(f, at, "pipe program %s %s: the pipe will fail and %s",
			                    prog, pwhy, r->pipe_defer ? "every such message be deferred"
			                    : "the message be filed instead");
	}
}

static void check_log(const SmConfig *c, SmFindings *f)
{
	if (!c->log_file)
		return;
	g_autofree char *why = file_problem(c->log_file);
	if (why)
		sm_findings_warning(f, where_set(c, "log-file"), "log file %s %s: log lines will be "
		                    "lost%s", c->log_file, why, c->syslog ? " (syslog still gets them)"
		                    : "");
}

/* ---- rule files ------------------------------------------------------------------ */

static void check_rules(const SmConfig *c, SmFindings *f, guint *n_rules)
{
	SmScorer *scorer = sm_lda_scorer_new(c);
	SmScorerReport r;
	memset(&r, 0, sizeof r);
	g_autoptr(GError) error = NULL;
	if (sm_scorer_report(scorer, &r, &error)) {
		*n_rules = r.rules;
		for (guint i = 0; i < r.problems->len; i++)
			sm_findings_error(f, NULL, "%s", (char *)r.problems->pdata[i]);
	} else {
		const char *kw = sm_config_origin(c, "rules") ? "rules" : "scorer-module";
		sm_findings_error(f, where_set(c, kw), "%s", error->message);
	}
	sm_scorer_free(scorer);
}

/* ---- the whole ---------------------------------------------------------------- */

int sm_check_setup(const char *config_path)
{
	SmEnvelope env;
	SmEnvelopeArgs args = { 0 };
	sm_envelope_fill(&env, &args);
	g_autofree char *fallback = env.home && *env.home
		? g_build_filename(env.home, ".sortmail", "config", NULL) : NULL;
	const char *path = config_path ? config_path : fallback;

	SmFindings f;
	sm_findings_init(&f);
	SmConfig *c = sm_config_load_all(path, &env, f.errors);
	guint n_rules = 0, n_templates = 0;
	if (c) {
		/* check writes nothing: not even the scorer's rule cache. */
		g_clear_pointer(&c->rule_cache, g_free);
		check_rules(c, &f, &n_rules);
		n_templates = sm_check_templates(c, &f);
		check_mailbox(c, &f);
		check_cache(c, &f);
		check_programs(c, &f);
		check_log(c, &f);
	}
	for (guint i = 0; i < f.errors->len; i++)
		printf("%s\n", (char *)f.errors->pdata[i]);
	for (guint i = 0; i < f.warnings->len; i++)
		printf("%s\n", (char *)f.warnings->pdata[i]);
	printf("sortmail check: %s%s: %u error(s), %u warning(s) (%u config rules, %u scoring "
	       "rules, %u templates)\n", path ? path : "(no config)",
	       c && !c->path ? " (absent: defaults)" : "", f.errors->len, f.warnings->len,
	       c ? c->rules->len : 0, n_rules, n_templates);
	int status = f.errors->len ? SM_CHECK_ERRORS
	           : f.warnings->len ? SM_CHECK_WARNINGS : SM_CHECK_OK;
	sm_findings_clear(&f);
	if (c)
		sm_config_free(c);
	sm_envelope_clear(&env);
	return status;
}
