# cache/: the verdict cache (GDBM). Arrives with the cache issue.
EXTRA_DIST += cache/README
