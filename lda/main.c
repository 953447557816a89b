/* main.c: picks the subcommand and exits with its status. The only exit() of
 * the program is the return from main() (and the watchdog's _exit(75)).
 * Without a known subcommand the arguments are delivery options: that is how
 * Postfix's mailbox_command and .forward pipes call us, and a typo there must
 * give 75 (try again), never a bounce. */
#include "config.h"
#include "lda.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sm_print_version(void)
{
	printf("sortmail %s\n", PACKAGE_VERSION);
}

/* Started with 0, 1 or 2 closed (`sortmail <&- 2>&-`), the next file we open
 * would take that number: the message itself, read as "stdin", or a Maildir
 * file that our one error line, or a library's warning, is then written into.
 * /dev/null in their place: no stdin reads as an empty message (75). */
static void fill_standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int null = open("/dev/null", O_RDWR);
		if (null >= 0 && null != fd) {
			dup2(null, fd);
			close(null);
		}
	}
}

int main(int argc, char **argv)
{
	fill_standard_fds();
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
	if (argc > 1 && strcmp(argv[1], "explain") == 0)
		return sm_cmd_explain(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "cache") == 0)
		return sm_cmd_cache(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "replay") == 0)
		return sm_cmd_replay(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "deliver") == 0)
		return sm_cmd_deliver(argc - 1, argv + 1);
	return sm_cmd_deliver(argc, argv);
}
