/* Names and ids every part uses (base: depends on nothing of ours): VNF,
 * engine and trust domain names, 16-byte ids written as UUIDs, hex. */
#ifndef VNFSAFE_IDS_H
#define VNFSAFE_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/err.h"

#define VS_NAME_MAX 64 /* names are 1..63 bytes of [A-Za-z0-9._-] */
#define VS_ID_LEN 16

/* 1..63 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool vs_name_ok(const char *s);
/* Lowercase UUID form, 36 characters and the NUL. */
void vs_id_format(const uint8_t id[VS_ID_LEN], char out[37]);
VS_MUST_USE vs_err vs_id_parse(const char *s, uint8_t id[VS_ID_LEN]);

/* Lowercase hex; out needs 2n+1 bytes. */
void vs_hex(const uint8_t *in, size_t n, char *out);
/* Parses exactly 2n hex digits. */
VS_MUST_USE vs_err vs_unhex(const char *in, uint8_t *out, size_t n);

#endif
