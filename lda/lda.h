/* lda.h: declarations shared inside lda/ (the program). Only lda/ knows about
 * the process: argv, the environment, stdin, signals and exit codes. */
#ifndef SM_LDA_H
#define SM_LDA_H

#include <glib.h>
#include "sortmail/sortmail.h"

typedef struct {
	const char *sender;             /* -f */
	const char *recipient;          /* -r */
	const char *original_recipient; /* -a */
} SmEnvelopeArgs;

/* Fills @e from @args, falling back to SENDER, RECIPIENT, ORIGINAL_RECIPIENT,
 * USER/LOGNAME, HOME, EXTENSION, and the password entry for USER and HOME. */
void sm_envelope_fill(SmEnvelope *e, const SmEnvelopeArgs *args);

/* The `deliver` subcommand (the default): returns the exit status. */
int sm_cmd_deliver(int argc, char **argv);

void sm_print_version(void);

#endif
