/* prefilter.c: literals every match must contain, and the test for them
 * (see prefilter.h).
 *
 * The pattern is read by a small recursive-descent parser of PCRE2 syntax
 * that computes, for each piece, two sets of strings:
 *   exact: the piece always matches exactly one of these (a literal, an
 *          alternation of literals); NULL when it does not, or when there
 *          would be too many;
 *   need:  every match of the piece contains one of these; NULL when
 *          nothing is known.
 * A sequence concatenates neighbouring exact sets ("fr" "ee" -> "free") and
 * keeps the best need set among its parts (the one whose shortest string is
 * longest); an alternation unites its branches' sets; a repeat that may
 * match nothing knows nothing. Zero-width pieces (anchors, \b, lookarounds)
 * match the empty string exactly, so they do not break a concatenation:
 * the text a match consumes is still the concatenation.
 */
#include "config.h"
#include "score/prefilter.h"
#include "common/regex.h"

#include <string.h>

#define MAX_EXACT 16   /* strings in an exact set */
#define MAX_NEED 32    /* strings in a need set */
#define MAX_STRING 64  /* bytes in one string; longer ones stop being exact */
#define MIN_USEFUL 3   /* a need set whose shortest string is shorter is no use */
#define MAX_NESTING 64
#define MAX_PATTERN 8192 /* longer patterns are not analysed */

/* A set of strings. Sets and strings live in the parser's arena until the
 * analysis ends, so they are shared freely and never freed one by one
 * (the analysis of a pattern makes thousands of them). */
typedef struct {
	guint n;
	guint min;            /* the shortest string's length: how selective it is */
	const char *s[];
} Set;

typedef struct {
	const Set *exact;
	const Set *need;
} Info;

typedef struct {
	const char *p;
	guint depth;
	gboolean fail;        /* a construct the analysis does not follow */
	GPtrArray *blocks;    /* the arena: memory blocks, owned */
	char *free;           /* unused space in the last block */
	gsize left;
	const Set *empty;     /* { "" } */
} Parser;

/* g_ascii_tolower() is a function call; this is in the innermost loops. */
static inline guchar lower(guchar c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ---- sets of strings ----------------------------------------------------------- */

#define BLOCK_SIZE 16384

/* @size bytes from the arena, aligned for pointers. */
static void *arena_alloc(Parser *p, gsize size)
{
	size = (size + 7) & ~(gsize)7;
	if (size > p->left) {
		gsize n = MAX(size, BLOCK_SIZE);
		p->free = g_malloc(n);
		p->left = n;
		g_ptr_array_add(p->blocks, p->free);
	}
	void *mem = p->free;
	p->free += size;
	p->left -= size;
	return mem;
}

static char *arena_string(Parser *p, const char *s, gsize len)
{
	char *copy = arena_alloc(p, len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

static Set *set_alloc(Parser *p, guint n)
{
	Set *set = arena_alloc(p, sizeof(Set) + n * sizeof(char *));
	set->n = 0;
	set->min = G_MAXUINT;
	return set;
}

/* Adds @len bytes at @s (ASCII-lowercased) to @set. */
static void set_add(Parser *p, Set *set, const char *s, gsize len)
{
	char buf[2 * MAX_STRING + 1];
	for (gsize i = 0; i < len; i++)
		buf[i] = (char)lower((guchar)s[i]);
	set->s[set->n++] = arena_string(p, buf, len);
	set->min = MIN(set->min, (guint)len);
}

/* { the @len bytes at @s }; a longer string is cut (still contained in any
 * match, so still good as a need string). */
static const Set *set_of(Parser *p, const char *s, gsize len)
{
	Set *set = set_alloc(p, 1);
	set_add(p, set, s, MIN(len, MAX_STRING));
	return set;
}

static guint set_score(const Set *s)
{
	return s && s->n ? s->min : 0;
}

static gboolean better(const Set *a, const Set *b)
{
	guint sa = set_score(a), sb = set_score(b);
	return sa > sb || (sa == sb && sa > 0 && a->n < b->n);
}

static void keep_best(const Set **best, const Set *cand)
{
	if (cand && (!*best || better(cand, *best)))
		*best = cand;
}

/* Every string of @a followed by every string of @b; NULL when too many or
 * too long. */
static const Set *set_cross(Parser *p, const Set *a, const Set *b)
{
	if (a->n * b->n > MAX_EXACT)
		return NULL;
	if (a->n == 1 && !*a->s[0])
		return b;
	Set *c = set_alloc(p, a->n * b->n);
	for (guint i = 0; i < a->n; i++) {
		for (guint k = 0; k < b->n; k++) {
			gsize la = strlen(a->s[i]), lb = strlen(b->s[k]);
			if (la + lb > MAX_STRING)
				return NULL;
			char buf[2 * MAX_STRING + 1];
			memcpy(buf, a->s[i], la);
			memcpy(buf + la, b->s[k], lb);
			c->s[c->n++] = arena_string(p, buf, la + lb);
			c->min = MIN(c->min, (guint)(la + lb));
		}
	}
	return c;
}

/* @a and @b together; NULL when either is NULL or they are too many. */
static const Set *set_union(Parser *p, const Set *a, const Set *b, guint max)
{
	if (!a || !b || a->n + b->n > max)
		return NULL;
	Set *u = set_alloc(p, a->n + b->n);
	memcpy(u->s, a->s, a->n * sizeof(char *));
	memcpy(u->s + a->n, b->s, b->n * sizeof(char *));
	u->n = a->n + b->n;
	u->min = MIN(a->min, b->min);
	return u;
}

/* ---- atoms ------------------------------------------------------------------- */

static Info empty_exact(Parser *p)
{
	Info i = { .exact = p->empty };
	return i;
}

static Info nothing_known(void)
{
	Info i = { 0 };
	return i;
}

static Info parse_alt(Parser *p);

/* Past a character class at p->p ('['). */
static void skip_class(Parser *p)
{
	const char *q = p->p + 1;
	if (*q == '^')
		q++;
	if (*q == ']')
		q++;
	for (; *q && *q != ']'; q++) {
		if (*q == '\\' && q[1])
			q++;
		else if (*q == '[' && q[1] == ':' && strstr(q + 2, ":]"))
			q = strstr(q + 2, ":]") + 1;
	}
	if (!*q)
		p->fail = TRUE;
	p->p = *q ? q + 1 : q;
}

/* A byte from "\xHH" or "\x{HH}" at @q (after the 'x'); -1 when it is not one. */
static int hex_byte(const char *q, gsize *used)
{
	const char *s = q;
	gboolean braced = *s == '{';
	if (braced)
		s++;
	int v = 0, n = 0;
	while (g_ascii_isxdigit(*s) && n < (braced ? 8 : 2)) {
		v = v * 16 + g_ascii_xdigit_value(*s++);
		n++;
	}
	if (n == 0 || v > 0xFF || (braced && *s != '}'))
		return -1;
	*used = s - q + (braced ? 1 : 0);
	return v;
}

/* An escape at p->p ('\'). */
static Info escape(Parser *p)
{
	const char *q = p->p + 1;
	char c = *q;
	p->p = q + (c ? 1 : 0);
	if (c == 'Q') {
		const char *e = strstr(q + 1, "\\E");
		gsize n = e ? (gsize)(e - q - 1) : strlen(q + 1);
		Info i = { .exact = set_of(p, q + 1, n) };
		p->p = q + 1 + n + (e ? 2 : 0);
		return i;
	}
	if (c == 'x') {
		gsize used = 0;
		int v = hex_byte(q + 1, &used);
		if (v < 0) {
			p->fail = TRUE;
			return nothing_known();
		}
		p->p = q + 1 + used;
		if (v == 0)
			return nothing_known();
		char b = (char)v;
		Info i = { .exact = set_of(p, &b, 1) };
		return i;
	}
	static const char simple[] = "tnrfae";
	static const char values[] = "\t\n\r\f\a\x1b";
	const char *k = c ? strchr(simple, c) : NULL;
	if (k) {
		Info i = { .exact = set_of(p, values + (k - simple), 1) };
		return i;
	}
	if (c && strchr("bBAzZGKE", c))
		return empty_exact(p);
	if (c == 'N' && *p->p == '{') {
		p->fail = TRUE; /* \N{...}: a named character */
		return nothing_known();
	}
	if (c && strchr("dDhHsSvVwWRXN", c))
		return nothing_known();
	if (c == 'c' && p->p[0]) {
		p->p++;
		return nothing_known();
	}
	if ((c == 'p' || c == 'P' || c == 'o') && *p->p == '{' && strchr(p->p, '}')) {
		p->p = strchr(p->p, '}') + 1;
		return nothing_known();
	}
	if ((c == 'p' || c == 'P') && g_ascii_isalpha(*p->p)) {
		p->p++;
		return nothing_known();
	}
	if (g_ascii_isalnum(c) || c == '\0') {
		/* Backreferences (\1 \g \k), octal, what PCRE2 rejects: give up. */
		p->fail = TRUE;
		return nothing_known();
	}
	Info i = { .exact = set_of(p, &c, 1) }; /* an escaped punctuation character */
	return i;
}

/* A group at p->p ('('). */
static Info group(Parser *p)
{
	const char *q = p->p + 1;
	gboolean look = FALSE;
	if (*q == '*') {
		p->fail = TRUE; /* (*VERB) */
		return nothing_known();
	}
	if (*q == '?') {
		q++;
		if (*q == '#') {
			const char *e = strchr(q, ')');
			p->p = e ? e + 1 : q + strlen(q);
			return empty_exact(p);
		}
		if (*q == ':' || *q == '>' || *q == '|') {
			q++;
		} else if (*q == '=' || *q == '!') {
			look = TRUE;
			q++;
		} else if (*q == '<' && (q[1] == '=' || q[1] == '!')) {
			look = TRUE;
			q += 2;
		} else if (*q == '<' || *q == '\'' || (*q == 'P' && q[1] == '<')) {
			q = strpbrk(q + 1, ">'");
			if (!q) {
				p->fail = TRUE;
				return nothing_known();
			}
			q++;
		} else {
			/* Option letters: "(?i)" or "(?i-s:...)". */
			const char *f = q;
			while (g_ascii_isalpha(*q) || *q == '-' || *q == '^')
				q++;
			if ((*q != ')' && *q != ':') || memchr(f, 'x', q - f)) {
				p->fail = TRUE; /* (?R), (?(cond)...), (?x) ... */
				return nothing_known();
			}
			if (*q == ')') {
				p->p = q + 1;
				return empty_exact(p);
			}
			q++;
		}
	}
	p->p = q;
	if (++p->depth > MAX_NESTING) {
		p->fail = TRUE;
		return nothing_known();
	}
	Info inner = parse_alt(p);
	p->depth--;
	if (*p->p == ')')
		p->p++;
	else
		p->fail = TRUE;
	return look ? empty_exact(p) : inner;
}

static Info atom(Parser *p)
{
	char c = *p->p;
	switch (c) {
	case '(':
		return group(p);
	case '[':
		skip_class(p);
		return nothing_known();
	case '\\':
		return escape(p);
	case '.':
		p->p++;
		return nothing_known();
	case '^':
	case '$':
		p->p++;
		return empty_exact(p);
	case '*':
	case '+':
	case '?':
	case '{':
		/* A quantifier with nothing to repeat, or a '{' that is not one:
		 * PCRE2 versions disagree on "x{,3}". */
		p->fail = TRUE;
		p->p++;
		return nothing_known();
	default: {
		Info i = { .exact = set_of(p, p->p, 1) };
		p->p++;
		return i;
	}
	}
}

/* A quantifier at p->p: TRUE with its bounds (max -1: unbounded). */
static gboolean quantifier(Parser *p, int *min, int *max)
{
	const char *q = p->p;
	if (*q == '*' || *q == '+' || *q == '?') {
		*min = *q == '+' ? 1 : 0;
		*max = *q == '?' ? 1 : -1;
		q++;
	} else if (*q == '{' && g_ascii_isdigit(q[1])) {
		char *end;
		guint64 lo = g_ascii_strtoull(q + 1, &end, 10), hi = lo;
		gboolean open = FALSE;
		if (*end == ',') {
			end++;
			if (g_ascii_isdigit(*end))
				hi = g_ascii_strtoull(end, &end, 10);
			else
				open = TRUE;
		}
		if (*end != '}')
			return FALSE; /* "{" is then a literal */
		*min = (int)MIN(lo, 1000);
		*max = open ? -1 : (int)MIN(hi, 1000);
		q = end + 1;
	} else {
		return FALSE;
	}
	if (*q == '?' || *q == '+')
		q++;
	p->p = q;
	return TRUE;
}

/* Repeats @s @n times (n >= 1); NULL when it would be too long or many. */
static const Set *set_repeat(Parser *p, const Set *s, int n)
{
	const Set *r = s;
	for (int k = 1; r && k < n; k++)
		r = set_cross(p, r, s);
	return r;
}

/* ---- sequences and alternations ------------------------------------------------- */

typedef struct {
	Parser *p;
	const Set *run;  /* the exact strings of the pieces since the last break */
	gboolean all;    /* every piece so far was exact, none broke the run */
	const Set *best; /* the best need set so far */
} Seq;

/* Ends the current run: it becomes a candidate need set. */
static void close_run(Seq *s)
{
	keep_best(&s->best, s->run);
	s->run = s->p->empty;
	s->all = FALSE;
}

/* Appends exact set @e to the run. */
static void extend_run(Seq *s, const Set *e)
{
	const Set *c = set_cross(s->p, s->run, e);
	if (!c) {
		close_run(s);
		c = e;
	}
	s->run = c;
}

/* One piece (an atom and its quantifier) into @s. */
static void piece(Seq *s, Info a, int min, int max)
{
	const Set *r = a.exact && min > 0 ? set_repeat(s->p, a.exact, min) : NULL;
	if (r && min == max) {
		extend_run(s, r);
	} else if (a.exact && min > 0) {
		/* x{2,}: the run takes x twice, then the last x starts a new run. */
		if (r)
			extend_run(s, r);
		close_run(s);
		extend_run(s, a.exact);
	} else {
		close_run(s);
	}
	if (min > 0) {
		keep_best(&s->best, a.need);
		keep_best(&s->best, a.exact);
	}
}

static gboolean plain(char c)
{
	return c && !strchr("\\()[]|.^$*+?{", c);
}

static gboolean quantifier_at(const char *q)
{
	return *q == '*' || *q == '+' || *q == '?' || (*q == '{' && g_ascii_isdigit(q[1]));
}

static Info parse_seq(Parser *p)
{
	Seq s = { .p = p, .run = p->empty, .all = TRUE };
	while (*p->p && *p->p != '|' && *p->p != ')' && !p->fail) {
		/* Plain characters in one go (the last one may belong to a quantifier). */
		const char *start = p->p;
		while (plain(*p->p) && !quantifier_at(p->p + 1))
			p->p++;
		if (p->p > start) {
			Info lit = { .exact = set_of(p, start, p->p - start) };
			piece(&s, lit, 1, 1);
			continue;
		}
		Info a = atom(p);
		int min = 1, max = 1;
		quantifier(p, &min, &max);
		piece(&s, a, min, max);
	}
	Info out = { .exact = s.all ? s.run : NULL };
	keep_best(&s.best, s.run);
	out.need = s.best;
	return out;
}

static Info parse_alt(Parser *p)
{
	Info acc = parse_seq(p);
	while (*p->p == '|' && !p->fail) {
		p->p++;
		Info b = parse_seq(p);
		acc.exact = set_union(p, acc.exact, b.exact, MAX_EXACT);
		acc.need = set_union(p, acc.need, b.need, MAX_NEED);
	}
	return acc;
}

char **sm_prefilter_literals(const char *pattern, guint flags)
{
	/* Patterns this long are alternations of look-alike characters
	 * (ReplaceTags): no literal comes out of them, and trying costs more
	 * than the rest of the analysis together. */
	if ((flags & SM_REGEX_EXTENDED) || strlen(pattern) > MAX_PATTERN)
		return NULL;
	Parser p = {
		.p = pattern,
		.blocks = g_ptr_array_new_with_free_func(g_free),
	};
	Set *empty = set_alloc(&p, 1);
	set_add(&p, empty, "", 0);
	p.empty = empty;
	Info i = parse_alt(&p);
	char **out = NULL;
	if (!p.fail && !*p.p && set_score(i.need) >= MIN_USEFUL) {
		out = g_new0(char *, i.need->n + 1);
		for (guint k = 0; k < i.need->n; k++)
			out[k] = g_strdup(i.need->s[k]);
	}
	g_ptr_array_free(p.blocks, TRUE);
	return out;
}

/* ---- testing texts -------------------------------------------------------------- */

struct SmTrigrams {
	guint bits;
	guint64 *set;
};

static inline guint32 trigram_hash(guchar a, guchar b, guchar c, guint bits)
{
	guint32 v = ((guint32)lower(a) << 16) | ((guint32)lower(b) << 8) | lower(c);
	return (v * 0x9E3779B1u) >> (32 - bits);
}

SmTrigrams *sm_trigrams_new(const char *text, gsize len)
{
	SmTrigrams *t = g_new0(SmTrigrams, 1);
	t->bits = len < 16384 ? 16 : len < 262144 ? 19 : 22;
	t->set = g_new0(guint64, (1u << t->bits) / 64);
	const guchar *u = (const guchar *)text;
	for (gsize i = 0; i + 2 < len; i++) {
		guint32 h = trigram_hash(u[i], u[i + 1], u[i + 2], t->bits);
		t->set[h / 64] |= G_GUINT64_CONSTANT(1) << (h % 64);
	}
	return t;
}

void sm_trigrams_free(SmTrigrams *t)
{
	if (!t)
		return;
	g_free(t->set);
	g_free(t);
}

static gboolean has_all(const SmTrigrams *t, const char *s)
{
	const guchar *u = (const guchar *)s;
	for (gsize i = 0; u[i] && u[i + 1] && u[i + 2]; i++) {
		guint32 h = trigram_hash(u[i], u[i + 1], u[i + 2], t->bits);
		if (!(t->set[h / 64] & (G_GUINT64_CONSTANT(1) << (h % 64))))
			return FALSE;
	}
	return TRUE;
}

gboolean sm_trigrams_may_contain(const SmTrigrams *t, char *const *literals)
{
	for (char *const *l = literals; *l; l++)
		if (has_all(t, *l))
			return TRUE;
	return FALSE;
}

gboolean sm_lowered_may_contain(const char *lowered, gsize len, char *const *literals)
{
	for (char *const *l = literals; *l; l++)
		if (memmem(lowered, len, *l, strlen(*l)))
			return TRUE;
	return FALSE;
}

char *sm_prefilter_lower(const char *text, gsize len)
{
	char *out = g_malloc(len + 1);
	for (gsize i = 0; i < len; i++)
		out[i] = (char)lower((guchar)text[i]);
	out[len] = '\0';
	return out;
}

gboolean sm_text_may_contain(const char *text, gsize len, char *const *literals)
{
	for (char *const *l = literals; *l; l++) {
		const guchar *lit = (const guchar *)*l;
		gsize n = strlen(*l);
		for (gsize i = 0; i + n <= len; i++) {
			const guchar *t = (const guchar *)text + i;
			gsize k = 0;
			while (k < n && lower(t[k]) == lit[k])
				k++;
			if (k == n)
				return TRUE;
		}
	}
	return FALSE;
}
