/* watchdog.h: gives up with exit 75 before the MTA's own time limit.
 *
 * Postfix bounces a mailbox_command that exceeds command_time_limit (1000 s by
 * default). The watchdog fires first (SIGALRM), and SIGTERM/SIGHUP are treated
 * the same way: the temporary file being written is removed, one line goes to
 * stderr, and the process exits 75. Around a commit (link into new/, an mbox
 * append) the signals are held, so a commit is never cut in half; a signal that
 * arrives meanwhile is acted on once the commit section ends. */
#ifndef SM_WATCHDOG_H
#define SM_WATCHDOG_H

void sm_watchdog_start(unsigned seconds);
/* The file to unlink if we give up (NULL: none). Copied. */
void sm_watchdog_set_cleanup(const char *path);
void sm_watchdog_hold(void);    /* enter a section that must not be interrupted */
void sm_watchdog_release(void); /* leave it */
/* After a successful commit the process must exit 0: nothing may turn it into 75. */
void sm_watchdog_disarm(void);

#endif
