#include "config.h"
#include "lda/status.h"
