#ifndef SM_STATUS_H
#define SM_STATUS_H
#endif
