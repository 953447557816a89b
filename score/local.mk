# score/: the face and loader (linked into sortmail) and the scorer module
# (loaded on demand, the only code that links GMime).
noinst_LTLIBRARIES += score/libsmscoreloader.la
score_libsmscoreloader_la_SOURCES = score/score.h score/loader.c

# The module exports one symbol; everything else (its copy of common/ included)
# stays private to it.
pkglib_LTLIBRARIES += score/sortmail-score.la
score_sortmail_score_la_SOURCES = \
	score/module.c \
	score/rules.c score/rules.h \
	score/perlre.c score/perlre.h \
	score/render.c score/render.h \
	score/html.c
score_sortmail_score_la_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS)
score_sortmail_score_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^sm_score_module_v1$$'
score_sortmail_score_la_LIBADD = common/libsmcommon.la $(GMIME_LIBS) $(PCRE2_LIBS)

scorerulesdir = $(pkgdatadir)/rules
dist_scorerules_DATA = score/rules/stock.cf
