/* loader.c: stub. */
#include "config.h"
#include "score/score.h"
