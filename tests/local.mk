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

# score/: the loader is linked, the module is found through $SORTMAIL_SCORER.
check_PROGRAMS += tests/unit/test-score
tests_unit_test_score_SOURCES = tests/unit/test-score.c
tests_unit_test_score_LDADD = score/libsmscoreloader.la $(TEST_UNIT_LDADD) $(LIBS)
EXTRA_DIST += \
	tests/data/score/ham-personal.eml \
	tests/data/score/ham-list.eml \
	tests/data/score/ham-newsletter.eml \
	tests/data/score/ham-attachment.eml \
	tests/data/score/ham-latin1.eml \
	tests/data/score/spam-lottery.eml \
	tests/data/score/spam-pharma-html.eml \
	tests/data/score/spam-phish.eml \
	tests/data/score/spam-crypto.eml \
	tests/data/score/spam-inheritance.eml

check_PROGRAMS += tests/unit/test-config
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CPPFLAGS = $(AM_CPPFLAGS) -DSM_TEST_DATA=\"$(abs_top_srcdir)/tests/data\"
tests_unit_test_config_LDADD = $(TEST_UNIT_LDADD)
EXTRA_DIST += \
	tests/data/config/full.conf \
	tests/data/config/example.conf \
	tests/data/config/unknown-keyword.conf \
	tests/data/config/bad-regex.conf \
	tests/data/config/bad-folder.conf \
	tests/data/config/wrong-count.conf \
	tests/data/config/bad-size.conf \
	tests/data/config/unterminated-quote.conf

check_PROGRAMS += tests/unit/test-recipient
tests_unit_test_recipient_SOURCES = tests/unit/test-recipient.c
tests_unit_test_recipient_LDADD = $(TEST_UNIT_LDADD)

check_PROGRAMS += tests/unit/test-folder
tests_unit_test_folder_SOURCES = tests/unit/test-folder.c
tests_unit_test_folder_LDADD = $(TEST_UNIT_LDADD)

check_PROGRAMS += tests/unit/test-decide
tests_unit_test_decide_SOURCES = tests/unit/test-decide.c
tests_unit_test_decide_LDADD = $(TEST_UNIT_LDADD)

check_PROGRAMS += tests/unit/test-mbox
tests_unit_test_mbox_SOURCES = tests/unit/test-mbox.c
tests_unit_test_mbox_CPPFLAGS = $(AM_CPPFLAGS) -DSM_TEST_DATA=\"$(abs_top_srcdir)/tests/data\"
tests_unit_test_mbox_LDADD = lda/libsmlda.la score/libsmscoreloader.la cache/libsmcache.la $(TEST_UNIT_LDADD) $(GDBM_LIBS) $(LIBS)
EXTRA_DIST += tests/data/mbox/README tests/data/mbox/quoting.eml tests/data/mbox/quoting.mbox

TESTS += $(check_PROGRAMS)
EXTRA_DIST += tests/integration/lib.sh
EXTRA_DIST += demo/run-demo.sh demo/sample.mbox demo/FIGURES.md
EXTRA_DIST += tests/bench/bench-deliver.sh tests/bench/README

# Integration tests through the real binary (shell, TAP; helpers in lib.sh).
SH_LOG_COMPILER = $(SHELL)
TESTS += \
	tests/integration/deliver-basic.sh \
	tests/integration/deliver-big.sh \
	tests/integration/recipient.sh \
	tests/integration/spam-policy.sh \
	tests/integration/faults.sh \
	tests/integration/mbox.sh \
	tests/integration/root-owner.sh \
	tests/integration/cache.sh
EXTRA_DIST += \
	tests/integration/cache.sh \
	tests/integration/deliver-basic.sh \
	tests/integration/deliver-big.sh \
	tests/integration/recipient.sh \
	tests/integration/spam-policy.sh \
	tests/integration/faults.sh \
	tests/integration/mbox.sh \
	tests/integration/root-owner.sh \
	tests/data/messages/plain.eml \
	tests/data/messages/multipart-attachment.eml \
	tests/data/messages/html-only.eml \
	tests/data/messages/no-message-id.eml \
	tests/data/messages/no-delivered-to.eml \
	tests/data/messages/broken-mime.eml \
	tests/data/messages/headers-8bit.eml \
	tests/data/messages/headers-latin1.eml \
	tests/data/messages/nul-bytes.eml \
	tests/data/messages/from-line.eml \
	tests/data/messages/crlf.eml \
	tests/data/messages/no-final-newline.eml \
	tests/data/messages/spam.eml \
	tests/data/messages/ham.eml
# Scratch directories of failed integration tests (kept for inspection).
clean-local: clean-integration-tmp
clean-integration-tmp:
	-chmod -R u+rwX tests/tmp 2>/dev/null; rm -rf tests/tmp
.PHONY: clean-integration-tmp

check_PROGRAMS += tests/unit/test-cache
tests_unit_test_cache_SOURCES = tests/unit/test-cache.c
tests_unit_test_cache_CPPFLAGS = $(AM_CPPFLAGS) -DSM_TEST_DATA=\"$(abs_top_srcdir)/tests/data\"
tests_unit_test_cache_LDADD = cache/libsmcache.la common/libsmcommon.la $(GLIB_LIBS) $(GDBM_LIBS)
EXTRA_DIST += \
	tests/data/cache/copy-alice.eml \
	tests/data/cache/copy-bob.eml \
	tests/data/cache/copy-carol-crlf.eml \
	tests/data/cache/reused-id.eml \
	tests/data/cache/no-message-id.eml \
	tests/data/cache/keys.txt \
	tests/data/cache/keys.py
