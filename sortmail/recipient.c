/* recipient.c: stub, to be written. */
#include "config.h"
#include "sortmail/sortmail.h"
