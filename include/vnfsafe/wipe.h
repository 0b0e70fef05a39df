/* Wiping memory that held secrets or plaintext (base). */
#ifndef VNFSAFE_WIPE_H
#define VNFSAFE_WIPE_H

#include <stddef.h>

/* Not optimized away. */
void vs_wipe(void *p, size_t n);

#endif
