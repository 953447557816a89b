# templates/: the autoresponse template engine (a convenience library linked by
# sortmail/) and the stock templates, installed where the engine looks by default.
noinst_LTLIBRARIES += templates/libsmtemplates.la
templates_libsmtemplates_la_SOURCES = \
	templates/templates.h \
	templates/tt-priv.h \
	templates/tt-lex.c \
	templates/tt-parse.c \
	templates/tt-load.c \
	templates/tt-render.c \
	templates/tt-vars.c
templates_libsmtemplates_la_LIBADD = common/libsmcommon.la $(GLIB_LIBS)

stocktemplatesdir = $(pkgdatadir)/templates
dist_stocktemplates_DATA = \
	templates/stock/unknown-address \
	templates/stock/information \
	templates/stock/vacation \
	templates/stock/normal_header \
	templates/stock/signature
EXTRA_DIST += templates/README

# The reply builder: its face and loader (linked into sortmail, no GMime), and
# the module (loaded on demand, GMime) that renders a template and builds the
# reply. The module exports one symbol; the engine and common/ come with it.
noinst_LTLIBRARIES += templates/libsmreplyloader.la
templates_libsmreplyloader_la_SOURCES = templates/reply.h templates/reply-loader.c

pkglib_LTLIBRARIES += templates/sortmail-reply.la
templates_sortmail_reply_la_SOURCES = \
	templates/reply.h \
	templates/reply-priv.h \
	templates/reply-module.c \
	templates/reply-build.c
templates_sortmail_reply_la_CFLAGS = $(AM_CFLAGS) $(GMIME_CFLAGS)
templates_sortmail_reply_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^sm_reply_module_v1$$'
templates_sortmail_reply_la_LIBADD = templates/libsmtemplates.la $(GMIME_LIBS) $(PCRE2_LIBS)
