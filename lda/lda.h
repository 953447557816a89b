/* lda.h: declarations shared inside lda/ (the program). Only lda/ knows about
 * the process: argv, the environment, stdin, signals and exit codes. */
#ifndef SM_LDA_H
#define SM_LDA_H

#include <glib.h>
#include "sortmail/sortmail.h"
#include "cache/cache.h"

typedef struct {
	const char *sender;             /* -f */
	const char *recipient;          /* -r */
	const char *original_recipient; /* -a */
} SmEnvelopeArgs;

/* Fills @e from @args, falling back to SENDER, RECIPIENT, ORIGINAL_RECIPIENT,
 * USER/LOGNAME, HOME, EXTENSION, and the password entry for USER and HOME. */
void sm_envelope_fill(SmEnvelope *e, const SmEnvelopeArgs *args);

/* Cache options for @c: path, TTL, waits, duplicates, and the rules
 * fingerprint (newly allocated into *@fingerprint; o->fingerprint borrows it). */
void sm_lda_cache_options(const SmConfig *c, const SmEnvelope *env, SmCacheOptions *o,
                          char **fingerprint);

/* The configuration at @path, or when NULL at ~/.sortmail/config of @env's
 * home (missing file: the defaults). Every subcommand reads it this way. */
SmConfig *sm_lda_config_load(const char *path, const SmEnvelope *env, GError **error);

/* The `deliver` subcommand (the default): returns the exit status. */
int sm_cmd_deliver(int argc, char **argv);

/* The `check` subcommand (`check --rules`): returns the exit status. */
int sm_cmd_check(int argc, char **argv);

/* The `explain` subcommand: returns the exit status. */
int sm_cmd_explain(int argc, char **argv);

/* The `cache` subcommand: returns the exit status. */
int sm_cmd_cache(int argc, char **argv);

/* The `replay` subcommand: saved mail through the pipeline; returns the exit status. */
int sm_cmd_replay(int argc, char **argv);

void sm_print_version(void);

#endif
