# Fuzz targets (issue 8, "Fuzzing"): one LLVMFuzzerTestOneInput() per module
# face, over its public header. With `configure --enable-fuzzing` (CC=clang)
# they are libFuzzer programs (tests/fuzz/run.sh runs them); otherwise
# replay-main.c makes each a TAP test of make check that runs its committed
# corpus, tests/data/fuzz/TARGET/ (seeds and crash fixtures), once.
FUZZ_TARGETS = \
	tests/fuzz/fuzz-message \
	tests/fuzz/fuzz-recipient \
	tests/fuzz/fuzz-config \
	tests/fuzz/fuzz-template \
	tests/fuzz/fuzz-mbox
if FUZZING
noinst_PROGRAMS = $(FUZZ_TARGETS)
FUZZ_MAIN =
else
check_PROGRAMS += $(FUZZ_TARGETS)
FUZZ_MAIN = tests/fuzz/replay-main.c
endif
FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -DSM_FUZZ_BUILDDIR=\"$(abs_top_builddir)\" \
	-DSM_FUZZ_SRCDIR=\"$(abs_top_srcdir)\"

tests_fuzz_fuzz_message_SOURCES = tests/fuzz/fuzz-message.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_message_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DSM_FUZZ_CORPUS=\"$(abs_top_srcdir)/tests/data/fuzz/message\"
tests_fuzz_fuzz_message_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_message_LDADD = score/libsmscoreloader.la $(TEST_UNIT_LDADD) $(LIBS)

tests_fuzz_fuzz_recipient_SOURCES = tests/fuzz/fuzz-recipient.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_recipient_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DSM_FUZZ_CORPUS=\"$(abs_top_srcdir)/tests/data/fuzz/recipient\"
tests_fuzz_fuzz_recipient_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_recipient_LDADD = $(TEST_UNIT_LDADD)

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_config_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DSM_FUZZ_CORPUS=\"$(abs_top_srcdir)/tests/data/fuzz/config\"
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = $(TEST_UNIT_LDADD)

tests_fuzz_fuzz_template_SOURCES = tests/fuzz/fuzz-template.c tests/fuzz/fuzz.h $(FUZZ_MAIN)
tests_fuzz_fuzz_template_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DSM_FUZZ_CORPUS=\"$(abs_top_srcdir)/tests/data/fuzz/template\"
tests_fuzz_fuzz_template_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_template_LDADD = templates/libsmreplyloader.la templates/libsmtemplates.la \
	common/libsmcommon.la $(GLIB_LIBS) $(LIBS)

# The reader is compiled in: lda/'s library is the whole program.
tests_fuzz_fuzz_mbox_SOURCES = tests/fuzz/fuzz-mbox.c tests/fuzz/fuzz.h $(FUZZ_MAIN) \
	lda/mbox-read.c lda/mbox-read.h
tests_fuzz_fuzz_mbox_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DSM_FUZZ_CORPUS=\"$(abs_top_srcdir)/tests/data/fuzz/mbox\"
tests_fuzz_fuzz_mbox_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_mbox_LDADD = $(GLIB_LIBS)

EXTRA_DIST += tests/fuzz/replay-main.c tests/fuzz/invariants.cf \
	tests/fuzz/run.sh tests/fuzz/seeds.sh tests/data/fuzz \
	tests/fuzz/message.dict tests/fuzz/template.dict tests/fuzz/config.dict
