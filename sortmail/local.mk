# sortmail/: configuration, original-recipient recovery, the decision.
noinst_LTLIBRARIES += sortmail/libsmsort.la
sortmail_libsmsort_la_SOURCES = \
	sortmail/sortmail.h \
	sortmail/config-priv.h \
	sortmail/config.c sortmail/config-keywords.c \
	sortmail/config-rule.c \
	sortmail/config-list.c \
	sortmail/recipient.c \
	sortmail/folder.c \
	sortmail/decide.c \
	sortmail/autorespond.c
# templates/ for sm_template_name_valid() (rule lines name templates).
sortmail_libsmsort_la_LIBADD = common/libsmcommon.la templates/libsmtemplates.la
