/* The functions of the mbedTLS comparison and nothing more (key import,
 * getPublicKey, one RSA-2048 unwrap, AES-128-CBC both ways with base64; no
 * server object): the image behind `make size`'s row "library flash,
 * mbedTLS's functions", checked against the same host-made vectors as
 * main.c. The RNG is a fixed-seed stand-in, as in main.c. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fw_vectors.h"
#include "paramcrypt.h"

static uint32_t rng_state = 0x2545F491u;

static int fw_rng(void *user, uint8_t *buf, size_t len) {
    size_t i;
    (void)user;
    for (i = 0; i < len; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 17;
        rng_state ^= rng_state << 5;
        buf[i] = (uint8_t)(rng_state >> 24);
    }
    return 0;
}

static int passed, failed;
#define CHECK(cond) ((cond) ? (void)passed++ : (void)(failed++, printf("FAILED line %d: %s\n", __LINE__, #cond)))

int main(void) {
    static uint8_t out[512];
    paramcrypt_keypair *key = NULL;
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_session *session = NULL;
    size_t len = 0;

    CHECK(paramcrypt_keypair_from_pkcs8_der(FW_PRIVATE_KEY_DER, sizeof FW_PRIVATE_KEY_DER, &key) == PARAMCRYPT_OK);
    if (!key) return 1;
    CHECK(paramcrypt_keypair_public_key(key, &public_key) == PARAMCRYPT_OK);
    CHECK(paramcrypt_public_key_to_base64(public_key, out, sizeof out - 1, &len) == PARAMCRYPT_OK);
    CHECK(len == strlen(FW_EXPECTED_PUBLIC_KEY_B64) && memcmp(out, FW_EXPECTED_PUBLIC_KEY_B64, len) == 0);
    CHECK(paramcrypt_keypair_unwrap_with_rng(key, (const uint8_t *)FW_ENC_KEY, strlen(FW_ENC_KEY),
                                             PARAMCRYPT_PADDING_PKCS1V15, fw_rng, NULL, &session) == PARAMCRYPT_OK);
    if (!session) return 1;
    CHECK(paramcrypt_session_decrypt(session, (const uint8_t *)FW_SECRET_DATA1, strlen(FW_SECRET_DATA1), out,
                                     sizeof out, &len) == PARAMCRYPT_OK);
    CHECK(len == strlen(FW_EXPECTED_SECRET1) && memcmp(out, FW_EXPECTED_SECRET1, len) == 0);
    CHECK(paramcrypt_session_encrypt(session, (const uint8_t *)FW_REPLY_PLAINTEXT, strlen(FW_REPLY_PLAINTEXT), out,
                                     sizeof out, &len) == PARAMCRYPT_OK);
    CHECK(len == strlen(FW_EXPECTED_REPLY) && memcmp(out, FW_EXPECTED_REPLY, len) == 0);
    paramcrypt_session_free(session);
    paramcrypt_public_key_free(public_key);
    paramcrypt_keypair_free(key);
    printf("firmware: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
