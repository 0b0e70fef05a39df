#ifndef VS_HOME_PRIV_H
#define VS_HOME_PRIV_H

#include <sqlite3.h>

#include "vnfsafe/home.h"

#define HOME_HOSTKEY "host.key"
#define HOME_HOSTPUB "host.pub"
#define HOME_KEK "kek"
#define HOME_DB "vnfsafe.db"

struct vs_home {
	char path[4096];
	vs_key kek;
	vs_signer *signer;
	uint8_t pub[VS_PUB_LEN];
	uint8_t pub_id[VS_HASH_LEN];
	char host[VS_HOST_MAX];
	sqlite3 *db;
};

vs_err vs_db_create(const char *path);
vs_err vs_db_open(vs_home *h, const char *path);
void vs_db_close(vs_home *h);

#endif
