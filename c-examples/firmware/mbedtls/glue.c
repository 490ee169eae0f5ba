/* See glue.h. */
#include "glue.h"

#include <string.h>

#include "mbedtls/aes.h"
#include "mbedtls/base64.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"

static int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int from_hex16(const unsigned char *text, unsigned char out[16]) {
    int i;
    for (i = 0; i < 16; i++) {
        int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
        if (high < 0 || low < 0) return -1;
        out[i] = (unsigned char)(high << 4 | low);
    }
    return 0;
}

/* encKey -> the client's AES key and IV: base64, RSA PKCS#1 v1.5 (blinded),
 * then the 65-character hex(key):hex(iv). */
int glue_unwrap(mbedtls_pk_context *pk, const char *enc_key, int (*f_rng)(void *, unsigned char *, size_t), void *p_rng,
                struct glue_session *session) {
    /* Static (static RAM, not stack), as a device would keep them. */
    static unsigned char wrapped[256], plain[256];
    size_t wrapped_len = 0, plain_len = 0;
    int ok = mbedtls_base64_decode(wrapped, sizeof wrapped, &wrapped_len, (const unsigned char *)enc_key,
                                   strlen(enc_key)) == 0 &&
             mbedtls_rsa_pkcs1_decrypt(mbedtls_pk_rsa(*pk), f_rng, p_rng, MBEDTLS_RSA_PRIVATE, &plain_len, wrapped,
                                       plain, sizeof plain) == 0 &&
             plain_len == 65 && plain[32] == ':' && from_hex16(plain, session->key) == 0 &&
             from_hex16(plain + 33, session->iv) == 0;
    mbedtls_platform_zeroize(plain, sizeof plain);
    return ok ? 0 : -1;
}

/* A secret parameter: base64, AES-128-CBC, PKCS#7; decoded into `out` and
 * decrypted there. */
int glue_decrypt(const struct glue_session *session, const char *text, unsigned char *out, size_t out_size,
                 size_t *out_len) {
    unsigned char iv[16];
    mbedtls_aes_context aes;
    size_t len = 0, pad, i;
    int ok;
    if (mbedtls_base64_decode(out, out_size, &len, (const unsigned char *)text, strlen(text)) != 0 || len == 0 ||
        len % 16 != 0)
        return -1;
    memcpy(iv, session->iv, 16);
    mbedtls_aes_init(&aes);
    ok = mbedtls_aes_setkey_dec(&aes, session->key, 128) == 0 &&
         mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, len, iv, out, out) == 0;
    mbedtls_aes_free(&aes);
    if (!ok) return -1;
    pad = out[len - 1];
    if (pad < 1 || pad > 16) return -1;
    for (i = len - pad; i < len; i++)
        if (out[i] != pad) return -1;
    *out_len = len - pad;
    return 0;
}

int glue_encrypt(const struct glue_session *session, const char *plain, unsigned char *out, size_t out_size,
                 size_t *out_len) {
    unsigned char block[64], cipher[64], iv[16];
    size_t len = strlen(plain), padded = (len / 16 + 1) * 16;
    mbedtls_aes_context aes;
    int ok;
    if (padded > sizeof block) return -1;
    memcpy(block, plain, len);
    memset(block + len, (int)(padded - len), padded - len);
    memcpy(iv, session->iv, 16);
    mbedtls_aes_init(&aes);
    ok = mbedtls_aes_setkey_enc(&aes, session->key, 128) == 0 &&
         mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, padded, iv, block, cipher) == 0 &&
         mbedtls_base64_encode(out, out_size, out_len, cipher, padded) == 0;
    mbedtls_aes_free(&aes);
    mbedtls_platform_zeroize(block, sizeof block);
    return ok ? 0 : -1;
}
