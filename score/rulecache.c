/* rulecache.c: the rule set on disk (see rulecache.h).
 *
 * The file, in this machine's byte order (it never leaves the machine):
 *   "SMRULES" and a format byte, the table's length and checksum (u64 each),
 *   the table: the key, the files read, the counts and messages, the header
 *     slots, then every rule (rules.h's SmScoreRule, meta rules with their
 *     bound program) with the place, length and checksum of its regex's
 *     serialized form,
 *   the serialized regexes, one after the other.
 * The table is read whole at start-up; a regex is checked and decoded only
 * when its rule first runs (match.c), so a delivery pays for the regexes
 * its message needs, not for the 1,600 of Debian's set.
 */
#include "config.h"
#include "score/rulecache.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define MAGIC "SMRULES\005"
#define MAGIC_LEN 8
#define HEAD_LEN (MAGIC_LEN + 16)
#define NO_STRING SM_RC_NO_STRING

/* ---- the key ------------------------------------------------------------------ */

/* This module's file: a rebuilt module may read rules differently. */
static char *module_identity(void)
{
	Dl_info info;
	struct stat st;
	if (!dladdr((void *)module_identity, &info) || !info.dli_fname ||
	    stat(info.dli_fname, &st) < 0)
		return g_strdup("module?");
	return g_strdup_printf("%s %lld %lld.%09ld %llu", info.dli_fname, (long long)st.st_size,
	                       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	                       (unsigned long long)st.st_ino);
}

static char *full_key(const char *key, guint score_set)
{
	char pcre[64] = "";
	pcre2_config(PCRE2_CONFIG_VERSION, pcre);
	g_autofree char *module = module_identity();
	return g_strdup_printf("%s|set %u|%s|pcre2 %s|ptr %zu", key, score_set, module, pcre,
	                       sizeof(void *));
}

/* Only a directory of ours: root delivering into a user's home neither
 * trusts a file someone else could have put there nor leaves its own. */
static gboolean dir_is_ours(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
}

/* ---- writing ---------------------------------------------------------------- */

static void put_strv(GByteArray *out, const GPtrArray *a)
{
	sm_rc_put_u32(out, a->len);
	for (guint i = 0; i < a->len; i++)
		sm_rc_put_str(out, a->pdata[i]);
}

static void put_files(GByteArray *out, const GPtrArray *files)
{
	sm_rc_put_u32(out, files->len);
	for (guint i = 0; i < files->len; i++) {
		const SmRuleFile *f = files->pdata[i];
		sm_rc_put_str(out, f->path);
		sm_rc_put_u64(out, (guint64)f->size);
		sm_rc_put_u64(out, (guint64)f->mtime_sec);
		sm_rc_put_u64(out, (guint64)f->mtime_nsec);
		sm_rc_put_u64(out, f->ino);
	}
}

/* The regex of @r into @blobs; its place in the table. */
static void put_regex(GByteArray *out, GByteArray *blobs, const SmScoreRule *r)
{
	guint8 *bytes = NULL;
	gsize len = 0;
	if (!r->re.re || !sm_regex_serialize(r->re.re, &bytes, &len)) {
		sm_rc_put_u64(out, 0);
		sm_rc_put_u64(out, 0);
		sm_rc_put_u64(out, 0);
		return;
	}
	while (blobs->len % 8) /* aligned, as PCRE2 reads it in place */
		g_byte_array_append(blobs, (const guint8 *)"", 1);
	sm_rc_put_u64(out, blobs->len);
	sm_rc_put_u64(out, len);
	sm_rc_put_u64(out, sm_rc_checksum(bytes, len));
	g_byte_array_append(blobs, bytes, (guint)len);
	g_free(bytes);
}

static void put_rule(GByteArray *out, GByteArray *blobs, const SmScoreRule *r)
{
	sm_rc_put_str(out, r->name);
	sm_rc_put_u32(out, r->kind);
	sm_rc_put_u32(out, r->slot);
	sm_rc_put_u32(out, r->exists);
	sm_rc_put_u32(out, r->negate);
	sm_rc_put_str(out, r->if_unset);
	/* NUL-terminated, so that it can be used where it lies in the map. */
	sm_rc_put_str(out, r->re.pattern);
	if (r->re.pattern)
		g_byte_array_append(out, (const guint8 *)"", 1);
	sm_rc_put_u32(out, r->re.flags);
	sm_rc_put_u32(out, r->re.broken);
	guint n = r->re.literals ? g_strv_length(r->re.literals) : NO_STRING;
	sm_rc_put_u32(out, n);
	for (guint i = 0; n != NO_STRING && i < n; i++)
		sm_rc_put_str(out, r->re.literals[i]);
	sm_rc_put_f64(out, r->score);
	sm_rc_put_u32(out, r->scored);
	sm_rc_put_u32(out, r->tflags);
	sm_rc_put_u32(out, r->maxhits);
	sm_rc_put_str(out, r->describe);
	sm_rc_put_str(out, r->where);
	sm_rc_put_u32(out, r->meta != NULL);
	if (r->meta)
		sm_meta_save(r->meta, out);
	put_regex(out, blobs, r);
}

static GByteArray *encode(const SmRuleSet *set, const char *key, GByteArray *blobs)
{
	GByteArray *t = g_byte_array_sized_new(1 << 20);
	sm_rc_put_str(t, key);
	put_files(t, set->files);
	sm_rc_put_u32(t, set->score_set);
	sm_rc_put_u32(t, set->skipped_lines);
	for (int k = 0; k < SM_RULE_N_KINDS; k++) {
		sm_rc_put_u32(t, set->defined[k]);
		sm_rc_put_u32(t, set->skipped[k]);
	}
	put_strv(t, set->problems);
	put_strv(t, set->unknown);
	put_strv(t, set->unsupported);
	sm_rc_put_u32(t, set->slots->len);
	for (guint i = 0; i < set->slots->len; i++) {
		const SmHeaderSlot *s = &g_array_index(set->slots, SmHeaderSlot, i);
		sm_rc_put_str(t, s->field);
		sm_rc_put_u32(t, s->form);
		sm_rc_put_u32(t, s->pick);
	}
	sm_rc_put_u32(t, set->rules->len);
	for (guint i = 0; i < set->rules->len; i++)
		put_rule(t, blobs, set->rules->pdata[i]);
	return t;
}

static gboolean write_all(int fd, const guint8 *p, gsize n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return FALSE;
		p += w;
		n -= (gsize)w;
	}
	return TRUE;
}

static gboolean write_file(const char *path, const GByteArray *table, const GByteArray *blobs)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp.XXXXXX", path);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return FALSE;
	guint8 head[HEAD_LEN];
	guint64 len = table->len, sum = sm_rc_checksum(table->data, table->len);
	memcpy(head, MAGIC, MAGIC_LEN);
	memcpy(head + MAGIC_LEN, &len, 8);
	memcpy(head + MAGIC_LEN + 8, &sum, 8);
	/* The regexes start 8-aligned: HEAD_LEN is, the table is padded. */
	static const guint8 pad[8];
	gboolean ok = write_all(fd, head, HEAD_LEN) && write_all(fd, table->data, table->len) &&
	              write_all(fd, pad, (8 - table->len % 8) % 8) &&
	              write_all(fd, blobs->data, blobs->len);
	ok = close(fd) == 0 && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
	return ok;
}

/* Temporary files a killed writer left (the watchdog's _exit(), SIGKILL):
 * each is megabytes, and nothing else would ever remove them. One that may
 * still be being written (younger than STALE_TMP seconds) is left alone. */
#define STALE_TMP 600
static void remove_stale_tmp(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *prefix = g_strconcat(base, ".tmp.", NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	time_t now = time(NULL);
	for (const char *name; d && (name = g_dir_read_name(d));) {
		if (!g_str_has_prefix(name, prefix))
			continue;
		g_autofree char *tmp = g_build_filename(dir, name, NULL);
		struct stat st;
		if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    st.st_mtime < now - STALE_TMP)
			unlink(tmp);
	}
}

gboolean sm_rule_cache_save(SmRuleSet *set, const char *path, const char *key)
{
	if (!dir_is_ours(path))
		return FALSE;
	remove_stale_tmp(path);
	sm_rules_compile_all(set);
	sm_rules_analyse_all(set);
	g_autofree char *full = full_key(key, set->score_set);
	g_autoptr(GByteArray) blobs = g_byte_array_sized_new(1 << 20);
	g_autoptr(GByteArray) table = encode(set, full, blobs);
	return write_file(path, table, blobs);
}

/* ---- reading ---------------------------------------------------------------- */

static gboolean files_unchanged(SmRcReader *in)
{
	guint n = sm_rc_get_u32(in);
	for (guint i = 0; i < n && !in->bad; i++) {
		g_autofree char *path = sm_rc_get_str(in);
		gint64 size = (gint64)sm_rc_get_u64(in);
		gint64 sec = (gint64)sm_rc_get_u64(in);
		gint64 nsec = (gint64)sm_rc_get_u64(in);
		guint64 ino = sm_rc_get_u64(in);
		struct stat st;
		if (in->bad || !path || stat(path, &st) < 0 || st.st_size != size ||
		    st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec || st.st_ino != ino)
			return FALSE;
	}
	return !in->bad;
}

static void get_strv(SmRcReader *in, GPtrArray *into)
{
	guint n = sm_rc_get_u32(in);
	for (guint i = 0; i < n && !in->bad; i++) {
		char *s = sm_rc_get_str(in);
		in->bad = in->bad || !s;
		if (s)
			g_ptr_array_add(into, s);
	}
}

/* A string put with its NUL, left where it lies (patterns are most of the
 * table: not copied). */
static char *get_mapped_str(SmRcReader *in)
{
	guint32 n = sm_rc_get_u32(in);
	if (in->bad || n == NO_STRING)
		return NULL;
	if (sm_rc_left(in) <= n || in->p[n] != '\0') {
		in->bad = TRUE;
		return NULL;
	}
	char *s = (char *)in->p;
	in->p += n + 1;
	return s;
}

static char **get_literals(SmRcReader *in)
{
	guint n = sm_rc_get_u32(in);
	if (n == NO_STRING || in->bad)
		return NULL;
	if (n > sm_rc_left(in) / 4) {
		in->bad = TRUE;
		return NULL;
	}
	char **v = g_new0(char *, n + 1);
	for (guint i = 0; i < n && !in->bad; i++)
		in->bad = !(v[i] = sm_rc_get_str(in));
	return v;
}

/* The regex's stored form, borrowed from @blobs. */
static void get_regex(SmRcReader *in, SmScoreRule *r, const guint8 *blobs, gsize blobs_len)
{
	guint64 off = sm_rc_get_u64(in), len = sm_rc_get_u64(in), sum = sm_rc_get_u64(in);
	if (in->bad || len == 0)
		return;
	if (off > blobs_len || len > blobs_len - off || off % 8) {
		in->bad = TRUE;
		return;
	}
	r->re.stored = blobs + off;
	r->re.stored_len = len;
	r->re.stored_sum = sum;
}

static SmScoreRule *get_rule(SmRcReader *in, guint n_slots, guint n_rules,
                             const guint8 *blobs, gsize blobs_len)
{
	SmScoreRule *r = g_new0(SmScoreRule, 1);
	r->name = sm_rc_get_str(in);
	r->kind = sm_rc_get_u32(in);
	r->slot = sm_rc_get_u32(in);
	r->exists = sm_rc_get_u32(in) != 0;
	r->negate = sm_rc_get_u32(in) != 0;
	r->if_unset = sm_rc_get_str(in);
	r->re.pattern = get_mapped_str(in);
	r->re.pattern_borrowed = TRUE;
	r->re.flags = sm_rc_get_u32(in);
	r->re.broken = sm_rc_get_u32(in) != 0;
	r->re.literals = get_literals(in);
	r->re.analysed = TRUE;
	r->score = sm_rc_get_f64(in);
	r->scored = sm_rc_get_u32(in) != 0;
	r->tflags = sm_rc_get_u32(in);
	r->maxhits = sm_rc_get_u32(in);
	r->describe = sm_rc_get_str(in);
	r->where = sm_rc_get_str(in);
	if (sm_rc_get_u32(in))
		in->bad = in->bad || !(r->meta = sm_meta_restore(in, n_rules));
	get_regex(in, r, blobs, blobs_len);
	/* What match.c relies on without checking. */
	gboolean header = r->kind == SM_RULE_HEADER || r->kind == SM_RULE_MIMEHEADER;
	in->bad = in->bad || !r->name || !r->where || r->kind >= SM_RULE_N_KINDS ||
	          (header && r->slot >= n_slots) || ((r->kind == SM_RULE_META) != !!r->meta) ||
	          (r->kind != SM_RULE_META && !r->exists && !r->re.pattern && !r->re.broken);
	return r;
}

static gboolean decode(SmRcReader *in, SmRuleSet *set, const char *key, const guint8 *blobs,
                       gsize blobs_len)
{
	g_autofree char *stored_key = sm_rc_get_str(in);
	if (!stored_key || strcmp(stored_key, key) != 0 || !files_unchanged(in))
		return FALSE;
	guint score_set = sm_rc_get_u32(in);
	in->bad = in->bad || score_set != set->score_set;
	set->skipped_lines = sm_rc_get_u32(in);
	for (int k = 0; k < SM_RULE_N_KINDS; k++) {
		set->defined[k] = sm_rc_get_u32(in);
		set->skipped[k] = sm_rc_get_u32(in);
	}
	get_strv(in, set->problems);
	get_strv(in, set->unknown);
	get_strv(in, set->unsupported);
	guint n_slots = sm_rc_get_u32(in);
	in->bad = in->bad || n_slots > sm_rc_left(in);
	for (guint i = 0; i < n_slots && !in->bad; i++) {
		SmHeaderSlot s = { .field = sm_rc_get_str(in) };
		s.form = sm_rc_get_u32(in);
		s.pick = sm_rc_get_u32(in);
		g_array_append_val(set->slots, s);
		in->bad = in->bad || !s.field;
	}
	guint n_rules = sm_rc_get_u32(in);
	in->bad = in->bad || n_rules > sm_rc_left(in);
	for (guint i = 0; i < n_rules && !in->bad; i++)
		g_ptr_array_add(set->rules, get_rule(in, n_slots, n_rules, blobs, blobs_len));
	return !in->bad && sm_rc_left(in) == 0;
}

/* @path mapped, when it is a file of ours nobody else may write. */
static GMappedFile *map_ours(const char *path)
{
	if (!dir_is_ours(path))
		return NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	GMappedFile *map = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & (S_IWGRP | S_IWOTH)) && st.st_size >= HEAD_LEN)
		map = g_mapped_file_new_from_fd(fd, FALSE, NULL);
	close(fd);
	return map;
}

SmRuleSet *sm_rule_cache_load(const char *path, const char *key, guint score_set)
{
	GMappedFile *map = map_ours(path);
	if (!map)
		return NULL;
	const guint8 *data = (const guint8 *)g_mapped_file_get_contents(map);
	gsize size = g_mapped_file_get_length(map);
	guint64 len, sum;
	memcpy(&len, data + MAGIC_LEN, 8);
	memcpy(&sum, data + MAGIC_LEN + 8, 8);
	gsize blobs_at = HEAD_LEN + len + (8 - len % 8) % 8;
	if (memcmp(data, MAGIC, MAGIC_LEN) != 0 || len > size - HEAD_LEN || blobs_at > size ||
	    sm_rc_checksum(data + HEAD_LEN, len) != sum) {
		g_mapped_file_unref(map);
		return NULL;
	}
	g_autofree char *full = full_key(key, score_set);
	SmRcReader in = { .p = data + HEAD_LEN, .end = data + HEAD_LEN + len };
	SmRuleSet *set = sm_rules_new_set(score_set);
	set->cache = map;
	if (!decode(&in, set, full, data + blobs_at, size - blobs_at)) {
		sm_rules_free(set);
		return NULL;
	}
	return set;
}
