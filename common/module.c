/* module.c: dlopen() of the on-demand modules (see module.h). */
#include "config.h"
#include "module.h"

#include <dlfcn.h>

const char *sm_module_path(const char *configured, const char *env_var,
                           const char *installed)
{
	if (configured && *configured)
		return configured;
	const char *env = g_getenv(env_var);
	return env && *env ? env : installed;
}

gconstpointer sm_module_symbol(const char *path, const char *symbol, const char *what,
                               char **why)
{
	void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		*why = g_strdup_printf("cannot load %s module: %s", what, dlerror());
		return NULL;
	}
	dlerror();
	gconstpointer sym = dlsym(handle, symbol);
	if (!sym) {
		const char *err = dlerror();
		*why = g_strdup_printf("%s module %s: no symbol %s: %s", what, path, symbol,
		                       err ? err : "NULL");
	}
	return sym;
}
