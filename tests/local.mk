# tests/: GTest units (TAP), shell tests through the real binary (TAP).
TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_DRIVER = $(LOG_DRIVER)
# `make check SORTMAIL_UNDER_TEST=WRAPPER` runs the shell tests through a
# wrapper of the binary (./dev.sh valgrind).
SORTMAIL_UNDER_TEST = $(abs_top_builddir)/lda/sortmail
AM_TESTS_ENVIRONMENT = \
	SORTMAIL='$(SORTMAIL_UNDER_TEST)'; \
	SORTMAIL_SCORER='$(abs_top_builddir)/score/.libs/sortmail-score.so'; \
	SORTMAIL_DATADIR='$(abs_top_srcdir)/score'; \
	SORTMAIL_REPLY_MODULE='$(abs_top_builddir)/templates/.libs/sortmail-reply.so'; \
	SORTMAIL_STOCK_TEMPLATES='$(abs_top_srcdir)/templates/stock'; \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	export SORTMAIL SORTMAIL_SCORER SORTMAIL_DATADIR SORTMAIL_REPLY_MODULE \
		SORTMAIL_STOCK_TEMPLATES top_srcdir top_builddir;

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

# The SpamAssassin rule language (score/rules.h), through the scorer's face.
check_PROGRAMS += tests/unit/test-rules
tests_unit_test_rules_SOURCES = tests/unit/test-rules.c
tests_unit_test_rules_LDADD = score/libsmscoreloader.la $(TEST_UNIT_LDADD) $(LIBS)

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

# A private Postfix instance delivering through sortmail (root + Debian's postfix; skips otherwise).
TESTS += tests/integration/postfix.sh
EXTRA_DIST += tests/integration/postfix.sh tests/integration/postfix-lib.sh

# spamd client (score/spamd.c linked in); a real spamd on loopback (root + Debian's spamd; skips otherwise).
check_PROGRAMS += tests/unit/test-spamd
tests_unit_test_spamd_SOURCES = tests/unit/test-spamd.c \
	score/spamd.c score/spamd.h score/spamd-net.c score/spamd-reply.c
tests_unit_test_spamd_LDADD = $(TEST_UNIT_LDADD)
TESTS += tests/integration/spamd.sh
EXTRA_DIST += tests/integration/spamd.sh tests/data/spamd/gtube.eml

check_PROGRAMS += tests/unit/test-templates
tests_unit_test_templates_SOURCES = tests/unit/test-templates.c
tests_unit_test_templates_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSM_TEST_DATA=\"$(abs_top_srcdir)/tests/data\" \
	-DSM_TEST_STOCK=\"$(abs_top_srcdir)/templates/stock\"
tests_unit_test_templates_LDADD = templates/libsmtemplates.la common/libsmcommon.la $(GLIB_LIBS)
EXTRA_DIST += \
	tests/data/templates/unknown-address.out \
	tests/data/templates/unknown-address-no-subject.out \
	tests/data/templates/information.out \
	tests/data/templates/information-no-subject.out \
	tests/data/templates/vacation.out \
	tests/data/templates/vacation-no-subject.out \
	tests/data/templates/normal_header.out \
	tests/data/templates/signature.out

# DNS blocklists (score/dnsbl.c, dns.c, received.c compiled in: the module is
# not a library); a real dnsmasq on loopback (skips without it).
check_PROGRAMS += tests/unit/test-received
tests_unit_test_received_SOURCES = tests/unit/test-received.c score/received.c score/received.h
tests_unit_test_received_CPPFLAGS = $(AM_CPPFLAGS) -DSM_TEST_DATA=\"$(abs_top_srcdir)/tests/data\"
tests_unit_test_received_LDADD = $(GLIB_LIBS)
check_PROGRAMS += tests/unit/test-dns
tests_unit_test_dns_SOURCES = tests/unit/test-dns.c \
	score/dnsbl.c score/dnsbl-hosts.c score/dnsbl.h score/dns.c score/dns.h \
	score/received.c score/received.h
tests_unit_test_dns_CFLAGS = $(AM_CFLAGS) $(CARES_CFLAGS)
tests_unit_test_dns_LDADD = common/libsmcommon.la $(GLIB_LIBS) $(PCRE2_LIBS) $(CARES_LIBS)
TESTS += tests/integration/dnsbl.sh
EXTRA_DIST += tests/integration/dnsbl.sh tests/data/dns/received.txt \
	tests/data/dns/zone.conf tests/data/dns/listed.eml tests/data/dns/clean.eml \
	tests/data/dns/listed-base64.eml

# The MIRV burst benchmark (never part of make check; see tests/bench/README).
EXTRA_DIST += tests/bench/bench-burst.sh

# The stock rules on the held-out evaluation sample (tests/eval/README tells
# how it was built; tests/eval/evaluate.sh prints the figures for both halves).
TESTS += tests/integration/stock-rules.sh
EXTRA_DIST += \
	tests/integration/stock-rules.sh \
	tests/eval/evaluate.sh \
	tests/eval/README \
	tests/data/corpus

# The autoresponder (issue 5): the never-answer matrix and the reply items of
# the config (sortmail/), the reply memory (cache/), running sendmail (lda/),
# the reply builder (the loader linked, the module found through
# $SORTMAIL_REPLY_MODULE; the test itself reads replies back with GMime), and
# the whole of it through the real binary, with a fake sendmail and with Postfix.
check_PROGRAMS += tests/unit/test-autorespond
tests_unit_test_autorespond_SOURCES = tests/unit/test-autorespond.c
tests_unit_test_autorespond_LDADD = $(TEST_UNIT_LDADD)
check_PROGRAMS += tests/unit/test-replied
tests_unit_test_replied_SOURCES = tests/unit/test-replied.c
tests_unit_test_replied_LDADD = cache/libsmcache.la common/libsmcommon.la $(GLIB_LIBS) $(GDBM_LIBS)
check_PROGRAMS += tests/unit/test-sendmail
tests_unit_test_sendmail_SOURCES = tests/unit/test-sendmail.c
tests_unit_test_sendmail_LDADD = lda/libsmlda.la $(GLIB_LIBS)
check_PROGRAMS += tests/unit/test-reply
tests_unit_test_reply_SOURCES = tests/unit/test-reply.c
tests_unit_test_reply_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSM_TEST_DATA=\"$(abs_top_srcdir)/tests/data\" \
	-DSM_TEST_STOCK=\"$(abs_top_srcdir)/templates/stock\"
tests_unit_test_reply_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS)
tests_unit_test_reply_LDADD = templates/libsmreplyloader.la common/libsmcommon.la $(GMIME_LIBS) $(GLIB_LIBS) $(LIBS)
EXTRA_DIST += \
	tests/data/reply/question.eml \
	tests/data/reply/injection.eml \
	tests/data/reply/information.reply
TESTS += tests/integration/autoreply.sh tests/integration/postfix-reply.sh
EXTRA_DIST += tests/integration/autoreply.sh tests/integration/postfix-reply.sh

# Outbound actions (issue 6): the pipe and forward items of a rule, and the
# whole of them through the real binary with a fake command and sendmail.
check_PROGRAMS += tests/unit/test-outbound
tests_unit_test_outbound_SOURCES = tests/unit/test-outbound.c
tests_unit_test_outbound_LDADD = $(TEST_UNIT_LDADD)
TESTS += tests/integration/outbound.sh
EXTRA_DIST += tests/integration/outbound.sh

# Syscall fault injection (issue 8, "Faults"): an LD_PRELOAD shim, built for
# make check only, makes the Nth write/fsync/rename/link/open/mkdir/... under
# a directory fail; faults-inject.sh walks every N a delivery reaches.
check_LTLIBRARIES = tests/fault/libsminject.la
tests_fault_libsminject_la_SOURCES = tests/fault/inject.c
tests_fault_libsminject_la_CFLAGS = $(WARN_CFLAGS)
tests_fault_libsminject_la_CPPFLAGS =
tests_fault_libsminject_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_fault_libsminject_la_LIBADD = -ldl
TESTS += tests/integration/faults-inject.sh
EXTRA_DIST += tests/integration/faults-inject.sh

# Operator's tools (issue 7): `sortmail check` on a whole set-up, and
# `sortmail explain` against expected output.
TESTS += tests/integration/check.sh tests/integration/explain.sh
EXTRA_DIST += tests/integration/check.sh \
	tests/data/check/five-errors.conf tests/data/check/broken-template \
	tests/integration/explain.sh \
	tests/data/explain/local.cf tests/data/explain/templates/course \
	tests/data/explain/training.eml tests/data/explain/training.expected \
	tests/data/explain/sales.eml tests/data/explain/sales.expected
# rebroadcast LIST (issue 6): the list keyword and the rule item, members
# files, admission and the copy for the members; through the real binary with
# a recording sendmail, and forward and rebroadcast through a private Postfix.
check_PROGRAMS += tests/unit/test-rebroadcast
tests_unit_test_rebroadcast_SOURCES = tests/unit/test-rebroadcast.c
tests_unit_test_rebroadcast_LDADD = lda/libsmlda.la score/libsmscoreloader.la \
	cache/libsmcache.la $(TEST_UNIT_LDADD) $(GDBM_LIBS) $(LIBS)
TESTS += tests/integration/rebroadcast.sh tests/integration/postfix-outbound.sh
EXTRA_DIST += tests/integration/rebroadcast.sh tests/integration/postfix-outbound.sh
# Load and soak (issue 8, "Load"): 300 concurrent deliveries with bursts
# (reduced under ASan), and 600 deliveries in a row with cache pruning (the
# full 20,000: `tests/reliability/soak.sh BUILD`; see tests/reliability/README).
# The driver is Python (tests/reliability/drive.py).
TESTS += tests/reliability/load.sh tests/reliability/soak.sh
EXTRA_DIST += tests/reliability/load.sh tests/reliability/soak.sh \
	tests/reliability/drive.py tests/reliability/drive_common.py tests/reliability/README
# sortmail replay (issue 7): the mbox reader (mboxo/mboxrd quoting, From_
# lines, truncation) and the whole command through the real binary.
check_PROGRAMS += tests/unit/test-mbox-read
tests_unit_test_mbox_read_SOURCES = tests/unit/test-mbox-read.c
tests_unit_test_mbox_read_LDADD = lda/libsmlda.la $(GLIB_LIBS)
TESTS += tests/integration/replay.sh
EXTRA_DIST += tests/integration/replay.sh tests/bench/bench-replay.sh \
	tests/data/replay/README tests/data/replay/quoting.mbox
EXTRA_DIST += tests/bench/FIGURES-replay.md
# The scorer benchmark's in-process driver (tests/bench/bench-score.sh builds
# it with `make tests/bench/score-bench`; never part of make check).
EXTRA_PROGRAMS = tests/bench/score-bench
tests_bench_score_bench_SOURCES = tests/bench/score-bench.c
tests_bench_score_bench_LDADD = score/libsmscoreloader.la $(TEST_UNIT_LDADD) $(LIBS)
EXTRA_DIST += tests/bench/bench-score.sh

# The scorer's rule cache (score/rulecache.h), through the scorer's face.
check_PROGRAMS += tests/unit/test-rulecache
tests_unit_test_rulecache_SOURCES = tests/unit/test-rulecache.c
tests_unit_test_rulecache_LDADD = score/libsmscoreloader.la $(TEST_UNIT_LDADD) $(LIBS)
TESTS += tests/integration/rule-cache.sh
EXTRA_DIST += tests/integration/rule-cache.sh
# Reliability (issue 8, "Crash torture" and "Environment faults"; the table of
# every harness is tests/reliability/README). crash-torture runs 24 rounds
# here; CRASH_N=1000 for the full run.
TESTS += tests/reliability/crash-torture.sh tests/reliability/env-faults.sh
EXTRA_DIST += \
	tests/reliability/README \
	tests/reliability/crash-torture.sh \
	tests/reliability/env-faults.sh \
	tests/reliability/stored.pl
# The security matrix (issue 8, "Hostile input"): hostile addresses, folder
# names, template includes, planted symlinks, reply header injection, file
# modes under several umasks, oversized input. The plant shim stages what a
# test cannot arrange from outside (a guessed tmp/ name, a look at the
# short-lived dotlock).
check_LTLIBRARIES += tests/fault/libsmplant.la
tests_fault_libsmplant_la_SOURCES = tests/fault/plant.c
tests_fault_libsmplant_la_CFLAGS = $(WARN_CFLAGS)
tests_fault_libsmplant_la_CPPFLAGS =
tests_fault_libsmplant_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_fault_libsmplant_la_LIBADD = -ldl
TESTS += tests/integration/security.sh
EXTRA_DIST += tests/integration/security.sh

# valgrind memcheck (issue 8): the delivery paths in make check; the whole
# suite is `./dev.sh valgrind`, which runs make check with
# SORTMAIL_UNDER_TEST pointing at a memcheck wrapper.
TESTS += tests/integration/valgrind.sh
EXTRA_DIST += tests/integration/valgrind.sh tests/valgrind/memcheck.sh tests/valgrind/sortmail.supp
# replay --sync=batch: same bytes once, syncs counted and a SIGKILL injected
# with strace, resume; deliver's per-message fsyncs unchanged.
TESTS += tests/integration/replay-sync.sh
EXTRA_DIST += tests/integration/replay-sync.sh
# Fuzzing (issue 8): libFuzzer targets, replayed on their corpus in make check.
include $(srcdir)/tests/fuzz/local.mk
