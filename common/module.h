/* module.h: finding an on-demand module (the scorer, the reply builder).
 * Both are loaded only when a delivery needs them, so that the fast path
 * never pays for GMime, and are never unloaded: they register GObject types,
 * which cannot be unregistered. */
#ifndef SM_MODULE_H
#define SM_MODULE_H

#include <glib.h>

/* The module's path: @configured when set, else the environment variable
 * @env_var (for running from a build tree), else @installed. Borrowed. */
const char *sm_module_path(const char *configured, const char *env_var,
                           const char *installed);

/* dlopen()s @path (RTLD_NOW, local) and returns the address of @symbol, or
 * NULL with *@why set (newly allocated) to a one-line reason naming @what
 * ("scorer", "reply"). */
gconstpointer sm_module_symbol(const char *path, const char *symbol, const char *what,
                               char **why);

#endif
