# score/: the face and loader (linked into sortmail) and the scorer module
# (loaded on demand, the only code that links GMime).
noinst_LTLIBRARIES += score/libsmscoreloader.la
score_libsmscoreloader_la_SOURCES = score/score.h score/loader.c

pkglib_LTLIBRARIES += score/sortmail-score.la
score_sortmail_score_la_SOURCES = \
	score/module.c
score_sortmail_score_la_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS)
score_sortmail_score_la_LDFLAGS = -module -avoid-version -shared
score_sortmail_score_la_LIBADD = common/libsmcommon.la $(GMIME_LIBS) $(PCRE2_LIBS)

scorerulesdir = $(pkgdatadir)/rules
dist_scorerules_DATA = score/rules/stock.cf
