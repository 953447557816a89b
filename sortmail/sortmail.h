/* sortmail.h: the face of sortmail/: configuration, original-recipient recovery,
 * folder names and the decision where one message goes.
 *
 * Nothing here touches the process (exit codes, stdin, signals) or writes mail:
 * that is lda/'s job. Errors are GErrors in SM_CONFIG_ERROR; config errors carry
 * "file:line: " in their message.
 */
#ifndef SM_SORTMAIL_H
#define SM_SORTMAIL_H

#include <glib.h>
#include "common/message.h"
#include "common/regex.h"
#include "common/verdict.h"

#define SM_CONFIG_ERROR (sm_config_error_quark())
GQuark sm_config_error_quark(void);

typedef enum {
	SM_CONFIG_ERROR_PARSE, /* "file:line: what is wrong" */
	SM_CONFIG_ERROR_READ,  /* the file exists but cannot be read */
} SmConfigError;

typedef enum { SM_FORMAT_MAILDIR, SM_FORMAT_MBOX } SmFormat;

/* ---- envelope ---------------------------------------------------------- */

/* Who sent, to whom, and the hints for the original recipient. All strings owned. */
typedef struct {
	char *sender;             /* envelope sender; "" for the null sender <> */
	char *recipient;          /* envelope recipient (RECIPIENT / -r) */
	char *original_recipient; /* -a, else ORIGINAL_RECIPIENT; may be NULL */
	gboolean original_from_option; /* original_recipient came from -a */
	char *user;               /* USER / LOGNAME */
	char *home;               /* HOME */
	char *extension;          /* EXTENSION; may be NULL */
} SmEnvelope;

void sm_envelope_clear(SmEnvelope *e);

/* ---- configuration ----------------------------------------------------- */

typedef enum {
	SM_COND_TO,     /* original recipient */
	SM_COND_FROM,   /* envelope sender */
	SM_COND_HEADER, /* any header, by name */
} SmCondKind;

typedef struct {
	SmCondKind kind;
	gboolean negate;       /* "!to REGEX" etc. */
	char *header;          /* for SM_COND_HEADER */
	char *pattern;         /* as written, for messages */
	SmRegex *re;           /* compiled caseless */
} SmCondition;

typedef enum {
	SM_ACTION_FOLDER,  /* file into folder (may name "inbox") */
	SM_ACTION_DISCARD, /* deliberately drop, logged */
} SmActionKind;

/* A lightweight list for the rule action "rebroadcast NAME" (sortmail.conf(5)
 * "list"; lda/rebroadcast.c). The members and moderators files are read at
 * delivery time, not here. All strings owned, checked when parsed: addresses
 * are plain (local@domain), the id is a dot-atom with a '.', the tag printable
 * ASCII, the hold folder a valid folder name. */
typedef struct {
	char *name;            /* letters, digits, '.', '_', '-' */
	char *file;            /* where it was defined */
	guint line;
	char *members;         /* the members file (absolute path) */
	char *moderators;      /* may post without being members; NULL: none */
	char *bounce;          /* envelope sender of the rebroadcast */
	char *post;            /* the posting address, for List-Post */
	char *id;              /* List-Id: <id>; default the post address, '@' -> '.' */
	char *tag;             /* subject tag, e.g. "[announce]"; NULL: none */
	char *hold;            /* posts not rebroadcast go here for review; default "held" */
} SmList;

typedef struct {
	char *file;            /* where it was written */
	guint line;
	GPtrArray *conds;      /* of SmCondition *; all must hold */
	SmActionKind action;
	char *folder;          /* SM_ACTION_FOLDER; may contain $1..$9 from the last "to" */
	gboolean noscore;      /* trusted: never scored */
	gboolean even_spam;    /* applies to spam too (otherwise spam goes to ube/ubetrap) */
	/* Automatic reply (see sm_autorespond_veto() and sortmail-templates(5)). */
	char *autorespond;     /* template name (valid as a template name); NULL: no reply */
	guint reply_every;     /* seconds: at most one reply per sender and template; 7 d */
	gboolean vacation;     /* only when a personal address is in To/Cc */
	char *reply_from;      /* the reply's From address; NULL: the original recipient */
	/* Outbound actions (lda/outbound.c, sortmail.conf(5) "pipe" and "forward"). */
	char *pipe;            /* the command as written; NULL: no pipe */
	char **pipe_argv;      /* split by the config's quoting rules, argv[0] absolute;
	                        * NULL with pipe_shell (then /bin/sh -c pipe) */
	gboolean pipe_shell;   /* "shell": run the command through /bin/sh -c */
	gboolean pipe_defer;   /* "pipe-defer": a failed pipe defers the delivery (75) */
	GPtrArray *forward;    /* char *, plain addresses; NULL: no forward */
	char *forward_sender;  /* envelope sender of forwards; NULL: the original one */
	gboolean forward_spam; /* forward spam too */
	gboolean file_on_failure; /* pipe/forward with no folder action: the message is
	                           * filed (into folder, "inbox") only when they fail */
	const SmList *rebroadcast; /* "rebroadcast NAME": the list (borrowed from
	                            * SmConfig.lists); NULL: none */
} SmRule;

typedef struct {
	SmRegex *re;
	char *pattern;
	char *replacement;
} SmUnplus;

typedef struct {
	char *path;              /* the file it was read from, NULL when defaults */
	SmFormat format;
	char *mailbox_root;      /* Maildir root, or the directory of mbox folders */
	char *mbox_inbox;        /* mbox only: the inbox file (default ROOT/inbox) */
	GPtrArray *personal;     /* char *, lowercased; "@domain" means the whole domain */
	GPtrArray *unplus;       /* SmUnplus *, tried in order, first match wins */
	char *ube_folder;        /* default "ube" */
	char *ubetrap_folder;    /* default "ubetrap" */
	double required_score;   /* default 5.0 */
	gsize max_score_size;    /* bytes; default 10 MB; larger mail is not scored */
	GPtrArray *rule_files;   /* char *, SpamAssassin-syntax files for score/ */
	GPtrArray *rules;        /* SmRule *, in order, first match wins */
	char *log_file;          /* NULL: syslog only */
	gboolean syslog;         /* default TRUE */
	guint deadline;          /* seconds before giving up with 75; default 900 */
	char *scorer_module;     /* path of the scorer module; NULL: built-in default */
	GPtrArray *scorer_settings; /* char *, "FILE:LINE: keyword args..." for score/ */
	char *cache_path;        /* the verdict cache; NULL: no cache ("cache none") */
	char *rule_cache;        /* the scorer's parsed rules (SmScorerOptions.rule_cache);
	                          * NULL: none ("rule-cache none") */
	guint cache_ttl;         /* seconds a verdict or a filing stays fresh; default 86400 */
	guint cache_ttl_degraded; /* the same for a verdict made while DNS or spamd was
	                           * unavailable (sm_verdict_degraded()); default 600 */
	guint cache_wait;        /* seconds to wait for another delivery's verdict; default 30 */
	gboolean duplicates;     /* do not file one message twice per recipient; default TRUE */
	/* Automatic replies. */
	GPtrArray *sendmail;     /* char *, the submission command and its first arguments;
	                          * default "/usr/sbin/sendmail" */
	guint sendmail_timeout;  /* seconds the command may take; default 60 */
	char *templates_dir;     /* the user's templates; default ~/.sortmail/templates */
	char *reply_memory;      /* the reply memory (GDBM); default ~/.sortmail/replied.db */
	guint pipe_timeout;      /* seconds a pipe command may take; default 60 */
	/* For `sortmail check`. */
	gboolean cache_shared;   /* "cache-shared yes": a group-writable cache is deliberate */
	GHashTable *origins;     /* keyword -> "FILE:LINE" of the line that last set it;
	                          * owned; see sm_config_origin() */
	GPtrArray *lists;        /* SmList *, for "rebroadcast"; defined before use */
} SmConfig;

/* TRUE when @a is a bare address, local@domain, with nothing that could
 * quote, comment or separate (no space, control character, <>()[],;:\\"), and
 * does not start with '-': safe in a header and on sendmail's command line. */
gboolean sm_address_is_plain(const char *a);

/* The list called @name (exact case), or NULL. */
const SmList *sm_config_find_list(const SmConfig *c, const char *name);

/* Reads @path. A NULL @path or a missing file gives the defaults (with @env's recipient as the
 * personal address); a file that exists but cannot be read or parsed is an error
 * naming file:line. "~/" in paths expands to @env->home. Returns a new config. */
SmConfig *sm_config_load(const char *path, const SmEnvelope *env, GError **error);
/* Parses config text (for tests and `check`); @name is used in messages. */
SmConfig *sm_config_parse(const char *text, const char *name, const SmEnvelope *env,
                          GError **error);
void sm_config_free(SmConfig *c);
/* For `sortmail check`: every line is parsed whatever goes wrong, and every
 * problem ("FILE:LINE: message") is appended to @problems (char *, newly
 * allocated); a line with an error is skipped. Returns the configuration of
 * the lines that parsed; _load_all returns NULL only when the file exists but
 * cannot be read (that problem is appended too). sm_config_load() and
 * sm_config_parse() fail, with the first of these problems, exactly when
 * @problems would not stay empty. */
SmConfig *sm_config_load_all(const char *path, const SmEnvelope *env, GPtrArray *problems);
SmConfig *sm_config_parse_all(const char *text, const char *name, const SmEnvelope *env,
                              GPtrArray *problems);
/* "FILE:LINE" of the line that last set @keyword ("maildir", "cache", ...),
 * or NULL when it has its default. Borrowed. */
const char *sm_config_origin(const SmConfig *c, const char *keyword);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmConfig, sm_config_free)

/* ---- original recipient ------------------------------------------------ */

typedef enum {
	SM_RCPT_DELIVERED_TO, SM_RCPT_OPTION, SM_RCPT_ORIGINAL_ENV,
	SM_RCPT_X_ORIGINAL_TO, SM_RCPT_ENVELOPE, SM_RCPT_NONE
} SmRecipientSource;

typedef struct {
	char *address;            /* recovered original recipient, owned; never NULL */
	SmRecipientSource source; /* where it came from */
	const SmUnplus *unplus;   /* the rule that rewrote it, or NULL */
} SmRecipient;

/* Recovery order: first Delivered-To (un-plussed), -a, ORIGINAL_RECIPIENT,
 * X-Original-To, envelope recipient. Control characters are removed from the
 * result; it is "" only when nothing at all was known. */
void sm_recipient_recover(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
                          SmRecipient *out);
void sm_recipient_clear(SmRecipient *r);
const char *sm_recipient_source_name(SmRecipientSource s);

/* Applies the un-plus rules to one address; NULL when none matched. */
char *sm_unplus(const SmConfig *c, const char *address, const SmUnplus **used);

/* TRUE when @address (any case) is one of the personal addresses. */
gboolean sm_is_personal(const SmConfig *c, const char *address);

/* ---- folder names ------------------------------------------------------ */

/* TRUE when @name may be used as a folder: not empty, at most 200 bytes, no '/',
 * no control characters, no leading or trailing '.', no "..", not "." segments.
 * "inbox" (any case) names the mailbox root itself. */
gboolean sm_folder_name_valid(const char *name);
gboolean sm_folder_is_inbox(const char *name);
/* Where the backend of @c files @folder (a valid name): the Maildir root or
 * ROOT/.NAME, the mbox inbox file or ROOT/NAME. Newly allocated. For
 * `sortmail explain`: the backends compute their own. */
char *sm_folder_path(const SmConfig *c, const char *folder);

/* ---- the decision ------------------------------------------------------ */

/* Scores @m into @out (initialised by the caller); FALSE with @error when it
 * cannot. The decision treats a failure as "not scored" and goes on. */
typedef gboolean (*SmScoreFunc)(const SmMessage *m, SmVerdict *out, gpointer user,
                                GError **error);

typedef struct {
	gboolean discard;        /* deliberately dropped */
	char *folder;            /* validated folder name ("inbox" for the root); owned;
	                          * NULL when @discard */
	const SmRule *rule;      /* the rule that chose it, or NULL */
	SmVerdict verdict;       /* source NONE when not scored */
	char *note;              /* why, in a few words ("spam to trap address"); owned */
	gboolean degraded;       /* something advisory failed (the scorer): log a warning */
	const SmRule *reply;     /* the matching rule when it says autorespond, also when the
	                          * verdict overrode its action (the reply step then says why
	                          * it does not answer); NULL: no reply asked for */
	const SmRule *outbound;  /* the rule when its action applies (not overridden by the
	                          * verdict) and it pipes, forwards or rebroadcasts; NULL
	                          * otherwise */
} SmDecision;

/* Decides where @m goes. Never fails: anything odd ends in "inbox" with a note. */
void sm_decide(const SmConfig *c, const SmEnvelope *env, const SmMessage *m,
               const char *original_recipient, SmScoreFunc score, gpointer user,
               SmDecision *out);
void sm_decision_clear(SmDecision *d);

/* The first rule of @c whose conditions all hold, as sm_decide() finds it
 * (also when the spam policy then overrides its action); NULL when none.
 * For `sortmail explain`. */
const SmRule *sm_decide_first_rule(const SmConfig *c, const SmEnvelope *env,
                                   const SmMessage *m, const char *rcpt);

/* ---- automatic replies: when not to answer -------------------------------- */

/* Why a reply asked for by rule @r must not be sent, or NULL when it may be.
 * The answer is a short fixed code for the log ("spam", "null-sender",
 * "auto-submitted", ...: the list is in autorespond.c and sortmail.conf(5));
 * *@detail (may be NULL) gets the evidence, e.g. "Auto-Submitted: auto-replied",
 * newly allocated, or NULL. Pure: looks only at its arguments. @v may be NULL
 * (not scored). The reply memory (at most one reply per N days) is not
 * checked here. */
const char *sm_autorespond_veto(const SmConfig *c, const SmRule *r, const SmEnvelope *env,
                                const SmMessage *m, const SmVerdict *v, char **detail);

/* TRUE when one of the personal addresses of @c is among the addresses of the
 * To and Cc headers of @m (the "vacation" condition). */
gboolean sm_autorespond_addressed_to_me(const SmConfig *c, const SmMessage *m);

#endif
