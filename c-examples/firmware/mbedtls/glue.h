/* The protocol glue a device writes around mbedTLS, which has no encKey or
 * secret-parameter functions: the hex key:iv text, PKCS#7, base64 around
 * AES-128-CBC. Built into the mbedTLS archive, so that `make size` counts
 * it with mbedTLS's flash (paramcrypt's figure includes its own). Written
 * plainly: this is for measuring, not an example (paramcrypt checks the
 * padding in constant time, for one). */
#ifndef PARAMCRYPT_FW_MBEDTLS_GLUE_H
#define PARAMCRYPT_FW_MBEDTLS_GLUE_H

#include <stddef.h>

#include "mbedtls/pk.h"

struct glue_session {
    unsigned char key[16], iv[16];
};

/* encKey -> the client's AES key and IV. 0 on success. */
int glue_unwrap(mbedtls_pk_context *pk, const char *enc_key, int (*f_rng)(void *, unsigned char *, size_t), void *p_rng,
                struct glue_session *session);
/* A secret parameter's base64 text -> its plaintext. */
int glue_decrypt(const struct glue_session *session, const char *text, unsigned char *out, size_t out_size,
                 size_t *out_len);
/* A reply's plaintext (at most 63 bytes) -> its base64 text. */
int glue_encrypt(const struct glue_session *session, const char *plain, unsigned char *out, size_t out_size,
                 size_t *out_len);

#endif
