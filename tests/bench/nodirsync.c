/*
 * nodirsync.c: an LD_PRELOAD library for bench-deliver.sh only. It makes
 * fsync() of a directory return 0 without syncing and passes every other
 * fsync() through. sortmail fsyncs the Maildir directory it links a message
 * into; procmail and maildrop do not. Loading this into both sortmail and
 * procmail shows how much of the difference between them is that one sync
 * (both then pay the same extra library load). Never use it to deliver mail.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

int
fsync(int fd)
{
	static int (*real_fsync)(int);
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (real_fsync == NULL)
		real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real_fsync(fd);
}
