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
	score/html.c \
	score/spamd.c score/spamd.h score/spamd-net.c score/spamd-reply.c
score_sortmail_score_la_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS)
score_sortmail_score_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^sm_score_module_v1$$'
score_sortmail_score_la_LIBADD = common/libsmcommon.la $(GMIME_LIBS) $(PCRE2_LIBS)
# DNS blocklists (dnsbl.h); only dns.c sees c-ares.
score_sortmail_score_la_SOURCES += \
	score/dnsbl.c score/dnsbl-hosts.c score/dnsbl.h \
	score/dns.c score/dns.h \
	score/received.c score/received.h
score_sortmail_score_la_CFLAGS += $(CARES_CFLAGS)
score_sortmail_score_la_LIBADD += $(CARES_LIBS)

# The SpamAssassin rule language (rules.h), the rendering (render.h).
score_sortmail_score_la_SOURCES += \
	score/rules-priv.h score/ruledefs.c score/rules-if.c score/rules-finish.c \
	score/replacetags.c \
	score/meta.c score/meta.h \
	score/match.c score/prefilter.c score/prefilter.h \
	score/rulecache.c score/rulecache.h score/rcencode.c \
	score/render-priv.h score/render-hdr.c score/relays.c \
	score/uri.c score/uri.h

scorerulesdir = $(pkgdatadir)/rules
dist_scorerules_DATA = score/rules/stock.cf
