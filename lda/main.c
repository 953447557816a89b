/* main.c: picks the subcommand and exits with its status. The only exit() of
 * the program is the return from main() (and the watchdog's _exit(75)).
 * Without a known subcommand the arguments are delivery options: that is how
 * Postfix's mailbox_command and .forward pipes call us, and a typo there must
 * give 75 (try again), never a bounce. */
#include "config.h"
#include "lda.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void sm_print_version(void)
{
	printf("sortmail %s\n", PACKAGE_VERSION);
}

int main(int argc, char **argv)
{
	/* Postfix limits file size (mailbox_size_limit) with RLIMIT_FSIZE: a write past
	 * it must fail with EFBIG, which the backends roll back, not kill us midway.
	 * A reader that went away must not kill us either. */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Every file and directory is created with the mode it must have (0600,
	 * 0700): the caller's umask may neither widen (000) nor narrow (0277,
	 * leaving us folders we cannot write) it. Programs we run inherit 077. */
	umask(077);
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return sm_cmd_check(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "cache") == 0)
		return sm_cmd_cache(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "deliver") == 0)
		return sm_cmd_deliver(argc - 1, argv + 1);
	return sm_cmd_deliver(argc, argv);
}
