# cache/: the verdict cache and duplicates journal (GDBM); only cache-gdbm.c sees gdbm.h.
noinst_LTLIBRARIES += cache/libsmcache.la
cache_libsmcache_la_SOURCES = \
	cache/cache.h \
	cache/cache-priv.h \
	cache/cache-db.h \
	cache/cache.c \
	cache/cache-open.c \
	cache/cache-key.c \
	cache/cache-record.c \
	cache/cache-lock.c \
	cache/cache-filed.c \
	cache/cache-maint.c \
	cache/replied.c \
	cache/cache-gdbm.c
cache_libsmcache_la_LIBADD = common/libsmcommon.la $(GDBM_LIBS)
EXTRA_DIST += cache/README
