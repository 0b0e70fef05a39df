#include "vnfsafe/wipe.h"

#include <openssl/crypto.h>

void vs_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
