/* lda.h: shared declarations inside lda/ (the program). */
#ifndef SM_LDA_H
#define SM_LDA_H
#include <glib.h>
#endif
