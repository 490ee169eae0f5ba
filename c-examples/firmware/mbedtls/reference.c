/* mbedTLS 2.28 doing what ../mbedtls_functions.c does with paramcrypt (key
 * import, getPublicKey, RSA-2048 unwraps, AES-128-CBC both ways with base64),
 * checked against the same host-made vectors and measured the same way as
 * ../main.c: the mbedTLS columns of `make size`. The protocol glue mbedTLS
 * does not have (the encKey's hex key:iv text, PKCS#7 padding) is written
 * here, plainly: this is a measurement, not an example (paramcrypt checks the
 * padding in constant time, for one). */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fw_measure.h"
#include "fw_vectors.h"
#include "mbedtls/aes.h"
#include "mbedtls/base64.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/rsa.h"
#include "mbedtls/version.h"

static int passed, failed;
#define CHECK(cond) ((cond) ? (void)passed++ : (void)(failed++, printf("FAILED line %d: %s\n", __LINE__, #cond)))

/* ---- Heap accounting (mbedTLS allocates with calloc and frees with free). */

static size_t heap_now, heap_peak;
void *__real_calloc(size_t count, size_t size);
void __real_free(void *ptr);

void *__wrap_calloc(size_t count, size_t size) {
    void *ptr = __real_calloc(count, size);
    if (ptr) heap_now += malloc_usable_size(ptr);
    if (heap_now > heap_peak) heap_peak = heap_now;
    return ptr;
}

void __wrap_free(void *ptr) {
    if (ptr) heap_now -= malloc_usable_size(ptr);
    __real_free(ptr);
}

/* The same fixed-seed stand-in as main.c's (not a cryptographic RNG). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static int fw_rng(void *user, unsigned char *buf, size_t len) {
    size_t i;
    (void)user;
    for (i = 0; i < len; i++) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        buf[i] = (uint8_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 56);
    }
    return 0;
}

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

struct session {
    unsigned char key[16], iv[16];
};

/* encKey -> the client's AES key and IV: base64, RSA PKCS#1 v1.5 (blinded),
 * then the 65-character hex(key):hex(iv). */
static int unwrap(mbedtls_pk_context *pk, const char *enc_key, struct session *session) {
    /* Static, so that the stack figure is mbedTLS's own. */
    static unsigned char wrapped[256], plain[256];
    size_t wrapped_len = 0, plain_len = 0;
    int ok = mbedtls_base64_decode(wrapped, sizeof wrapped, &wrapped_len, (const unsigned char *)enc_key,
                                   strlen(enc_key)) == 0 &&
             mbedtls_rsa_pkcs1_decrypt(mbedtls_pk_rsa(*pk), fw_rng, NULL, MBEDTLS_RSA_PRIVATE, &plain_len, wrapped,
                                       plain, sizeof plain) == 0 &&
             plain_len == 65 && plain[32] == ':' && from_hex16(plain, session->key) == 0 &&
             from_hex16(plain + 33, session->iv) == 0;
    mbedtls_platform_zeroize(plain, sizeof plain);
    return ok ? 0 : -1;
}

/* A secret parameter: base64, AES-128-CBC, PKCS#7. */
static int decrypt(const struct session *session, const char *text, unsigned char *out, size_t out_size,
                   size_t *out_len) {
    static unsigned char body[1100];
    unsigned char iv[16];
    mbedtls_aes_context aes;
    size_t len = 0, pad, i;
    int ok;
    if (mbedtls_base64_decode(body, sizeof body, &len, (const unsigned char *)text, strlen(text)) != 0 || len == 0 ||
        len % 16 != 0 || len > out_size)
        return -1;
    memcpy(iv, session->iv, 16);
    mbedtls_aes_init(&aes);
    ok = mbedtls_aes_setkey_dec(&aes, session->key, 128) == 0 &&
         mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, len, iv, body, out) == 0;
    mbedtls_aes_free(&aes);
    if (!ok) return -1;
    pad = out[len - 1];
    if (pad < 1 || pad > 16) return -1;
    for (i = len - pad; i < len; i++)
        if (out[i] != pad) return -1;
    *out_len = len - pad;
    return 0;
}

static int encrypt(const struct session *session, const char *plain, unsigned char *out, size_t out_size,
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

static int equals_text(const unsigned char *data, size_t len, const char *text) {
    return len == strlen(text) && memcmp(data, text, len) == 0;
}

int main(void) {
    static unsigned char der[600], out[1100];
    mbedtls_pk_context pk;
    struct session session, second;
    size_t len = 0, heap_before, i;
    int der_len;
    uint32_t t0, t1;
    uintptr_t top;

    printf("mbedTLS %s on %s\n", MBEDTLS_VERSION_STRING, PLATFORM_NAME);
    timer_start();

    t0 = timer_now();
    mbedtls_pk_init(&pk);
    CHECK(mbedtls_pk_parse_key(&pk, FW_PRIVATE_KEY_DER, sizeof FW_PRIVATE_KEY_DER, NULL, 0) == 0);
    t1 = timer_now();
    report_time("key_load", t0, t1);
    printf("measure key_pair_heap_bytes=%lu\n", (unsigned long)heap_now);

    /* getPublicKey: SubjectPublicKeyInfo DER (written at the buffer's end), base64. */
    der_len = mbedtls_pk_write_pubkey_der(&pk, der, sizeof der);
    CHECK(der_len > 0 && mbedtls_base64_encode(out, sizeof out, &len, der + sizeof der - der_len,
                                               (size_t)der_len) == 0);
    CHECK(equals_text(out, len, FW_EXPECTED_PUBLIC_KEY_B64));

    /* The first request: unwrap (mbedTLS makes its blinding pair now) and
     * decrypt one parameter, measured as main.c measures it. */
    heap_before = heap_now;
    heap_peak = heap_now;
    top = current_sp();
    paint_stack(top);
    t0 = timer_now();
    CHECK(unwrap(&pk, FW_ENC_KEY, &session) == 0);
    t1 = timer_now();
    CHECK(decrypt(&session, FW_SECRET_DATA1, out, sizeof out, &len) == 0);
    printf("measure unwrap_decrypt_stack_bytes=%lu\n", (unsigned long)stack_used_below(top));
    printf("measure unwrap_decrypt_heap_peak_bytes=%lu\n", (unsigned long)(heap_peak - heap_before));
    report_time("rsa2048_unwrap_first", t0, t1);
    CHECK(memcmp(session.key, FW_EXPECTED_KEY, 16) == 0 && memcmp(session.iv, FW_EXPECTED_IV, 16) == 0);
    CHECK(equals_text(out, len, FW_EXPECTED_SECRET1));
    CHECK(decrypt(&session, FW_SECRET_DATA2, out, sizeof out, &len) == 0 && equals_text(out, len, FW_EXPECTED_SECRET2));

    /* getSecretData's reply. */
    CHECK(encrypt(&session, FW_REPLY_PLAINTEXT, out, sizeof out, &len) == 0 && equals_text(out, len, FW_EXPECTED_REPLY));

    /* A 1 KiB parameter. */
    t0 = timer_now();
    CHECK(decrypt(&session, FW_PARAM_1KIB, out, sizeof out, &len) == 0);
    t1 = timer_now();
    report_time("param_1kib_decrypt", t0, t1);
    CHECK(len == 1024);
    for (i = 0; i < len && i < 1024; i++)
        if (out[i] != (uint8_t)((i * 7 + 3) & 0xFF)) break;
    CHECK(i == 1024);

    /* A second client: an unwrap on a warm key, measured. */
    t0 = timer_now();
    CHECK(unwrap(&pk, FW_ENC_KEY2, &second) == 0);
    t1 = timer_now();
    report_time("rsa2048_unwrap_later", t0, t1);
    CHECK(decrypt(&second, FW_SECRET_DATA3, out, sizeof out, &len) == 0 && equals_text(out, len, FW_EXPECTED_SECRET3));

    mbedtls_platform_zeroize(&session, sizeof session);
    mbedtls_platform_zeroize(&second, sizeof second);
    mbedtls_pk_free(&pk);
    printf("mbedtls: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
