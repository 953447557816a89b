/* config.c: stub, to be written. */
#include "config.h"
#include "sortmail/sortmail.h"
G_DEFINE_QUARK(sm-config-error-quark, sm_config_error)
