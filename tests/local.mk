# tests/: GTest units (TAP), shell tests through the real binary (TAP).
TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_DRIVER = $(LOG_DRIVER)
AM_TESTS_ENVIRONMENT = \
	SORTMAIL='$(abs_top_builddir)/lda/sortmail'; \
	SORTMAIL_SCORER='$(abs_top_builddir)/score/.libs/sortmail-score.so'; \
	SORTMAIL_DATADIR='$(abs_top_srcdir)/score'; \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	export SORTMAIL SORTMAIL_SCORER SORTMAIL_DATADIR top_srcdir top_builddir;

TEST_UNIT_LDADD = sortmail/libsmsort.la common/libsmcommon.la $(GLIB_LIBS) $(PCRE2_LIBS)

check_PROGRAMS += tests/unit/test-message
tests_unit_test_message_SOURCES = tests/unit/test-message.c
tests_unit_test_message_LDADD = $(TEST_UNIT_LDADD)

TESTS += $(check_PROGRAMS)
EXTRA_DIST += tests/integration/lib.sh
