/* envelope.c: the envelope from the command line and the environment that
 * Postfix local(8) sets for mailbox_command and .forward pipes. */
#include "config.h"
#include "lda.h"

#include <pwd.h>
#include <unistd.h>

static char *env_or_null(const char *name)
{
	const char *v = g_getenv(name);
	return v ? g_strdup(v) : NULL;
}

void sm_envelope_fill(SmEnvelope *e, const SmEnvelopeArgs *args)
{
	struct passwd *pw = NULL;
	*e = (SmEnvelope){ 0 };

	e->sender = args->sender ? g_strdup(args->sender) : env_or_null("SENDER");
	e->recipient = args->recipient ? g_strdup(args->recipient) : env_or_null("RECIPIENT");
	if (args->original_recipient) {
		e->original_recipient = g_strdup(args->original_recipient);
		e->original_from_option = TRUE;
	} else {
		e->original_recipient = env_or_null("ORIGINAL_RECIPIENT");
	}
	e->user = env_or_null("USER");
	if (!e->user)
		e->user = env_or_null("LOGNAME");
	e->home = env_or_null("HOME");
	e->extension = env_or_null("EXTENSION");

	if (!e->user || !e->home || !*e->home) {
		pw = getpwuid(geteuid());
		if (pw && !e->user)
			e->user = g_strdup(pw->pw_name);
		if (pw && (!e->home || !*e->home)) {
			g_free(e->home);
			e->home = g_strdup(pw->pw_dir);
		}
	}
	if (!e->recipient && e->user)
		e->recipient = g_strdup(e->user);
}

SmConfig *sm_lda_config_load(const char *path, const SmEnvelope *env, GError **error)
{
	g_autofree char *fallback = env->home && *env->home
		? g_build_filename(env->home, ".sortmail", "config", NULL) : NULL;
	return sm_config_load(path ? path : fallback, env, error);
}
