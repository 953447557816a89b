# sortmail/: configuration, original-recipient recovery, the decision.
noinst_LTLIBRARIES += sortmail/libsmsort.la
sortmail_libsmsort_la_SOURCES = \
	sortmail/sortmail.h \
	sortmail/config-priv.h \
	sortmail/config.c \
	sortmail/config-rule.c \
	sortmail/recipient.c \
	sortmail/folder.c \
	sortmail/decide.c
sortmail_libsmsort_la_LIBADD = common/libsmcommon.la
