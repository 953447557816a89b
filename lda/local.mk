# lda/: the sortmail program: command line, envelope, spool, delivery, exit codes.
bin_PROGRAMS += lda/sortmail
lda_sortmail_SOURCES = \
	lda/main.c lda/lda.h \
	lda/status.c lda/status.h
lda_sortmail_LDADD = sortmail/libsmsort.la score/libsmscoreloader.la common/libsmcommon.la \
	$(GLIB_LIBS) $(PCRE2_LIBS) $(LIBS)
