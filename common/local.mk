# common/: vocabulary shared by every module (message index, verdict, PCRE2 wrapper).
noinst_LTLIBRARIES += common/libsmcommon.la
common_libsmcommon_la_SOURCES = \
	common/message.c common/message.h \
	common/verdict.c common/verdict.h \
	common/regex.c common/regex.h \
	common/module.c common/module.h
common_libsmcommon_la_LIBADD = $(GLIB_LIBS) $(PCRE2_LIBS) $(LIBS)
