# lda/: the sortmail program: command line, envelope, spool, delivery, exit codes.
# Everything but main.c is a convenience library so unit tests can link it.
noinst_LTLIBRARIES += lda/libsmlda.la
lda_libsmlda_la_SOURCES = \
	lda/lda.h \
	lda/backend.h \
	lda/fsutil.c lda/fsutil.h \
	lda/status.c lda/status.h \
	lda/spool.c lda/spool.h \
	lda/watchdog.c lda/watchdog.h \
	lda/log.c lda/log.h \
	lda/envelope.c \
	lda/deliver.c \
	lda/pipeline.c lda/pipeline.h \
	lda/verdicts.c lda/verdicts.h \
	lda/cmd-cache.c \
	lda/cmd-check.c \
	lda/check-setup.c lda/check-setup.h lda/check-priv.h lda/check-templates.c \
	lda/cmd-explain.c lda/explain-priv.h lda/explain-cache.c lda/explain-actions.c \
	lda/deliver-maildir.c lda/deliver-maildir-priv.h \
	lda/maildir-batch.c lda/maildir-batch.h \
	lda/deliver-mbox.c lda/mbox-lock.c lda/mbox-lock.h \
	lda/mbox-dotlock.c lda/mbox-dotlock.h \
	lda/autoreply.c lda/autoreply.h \
	lda/sendmail.c lda/sendmail.h \
	lda/outbound.c lda/outbound.h \
	lda/rebroadcast.c lda/rebroadcast.h \
	lda/cmd-replay.c lda/replay.h lda/replay-loop.c lda/replay-jobs.c \
	lda/replay-input.c lda/replay-input.h lda/replay-report.c lda/replay-report.h \
	lda/mbox-read.c lda/mbox-read.h

bin_PROGRAMS += lda/sortmail
lda_sortmail_SOURCES = lda/main.c
lda_sortmail_LDADD = lda/libsmlda.la sortmail/libsmsort.la score/libsmscoreloader.la \
	templates/libsmreplyloader.la \
	cache/libsmcache.la common/libsmcommon.la $(GDBM_LIBS) $(GLIB_LIBS) $(PCRE2_LIBS) $(LIBS)
