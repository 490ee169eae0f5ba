/* mbedTLS 2.28 doing what ../mbedtls_functions.c does with paramcrypt (key
 * import, getPublicKey, RSA-2048 unwraps, AES-128-CBC both ways with base64;
 * the protocol's part in glue.c), checked against the same host-made vectors
 * and measured the same way as ../main.c: the mbedTLS columns of
 * `make size`. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fw_common.h"
#include "fw_vectors.h"
#include "glue.h"
#include "mbedtls/base64.h"
#include "mbedtls/pk.h"
#include "mbedtls/platform_util.h"
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

int main(void) {
    static unsigned char der[600], out[1088];
    mbedtls_pk_context pk;
    struct glue_session session, second;
    size_t len = 0, heap_before;
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
    CHECK(glue_unwrap(&pk, FW_ENC_KEY, fw_rng, NULL, &session) == 0);
    t1 = timer_now();
    CHECK(glue_decrypt(&session, FW_SECRET_DATA1, out, sizeof out, &len) == 0);
    printf("measure unwrap_decrypt_stack_bytes=%lu\n", (unsigned long)stack_used_below(top));
    printf("measure unwrap_decrypt_heap_peak_bytes=%lu\n", (unsigned long)(heap_peak - heap_before));
    report_time("rsa2048_unwrap_first", t0, t1);
    CHECK(memcmp(session.key, FW_EXPECTED_KEY, 16) == 0 && memcmp(session.iv, FW_EXPECTED_IV, 16) == 0);
    CHECK(equals_text(out, len, FW_EXPECTED_SECRET1));
    CHECK(glue_decrypt(&session, FW_SECRET_DATA2, out, sizeof out, &len) == 0 && equals_text(out, len, FW_EXPECTED_SECRET2));

    /* getSecretData's reply. */
    CHECK(glue_encrypt(&session, FW_REPLY_PLAINTEXT, out, sizeof out, &len) == 0 && equals_text(out, len, FW_EXPECTED_REPLY));

    /* A 1 KiB parameter. */
    t0 = timer_now();
    CHECK(glue_decrypt(&session, FW_PARAM_1KIB, out, sizeof out, &len) == 0);
    t1 = timer_now();
    report_time("param_1kib_decrypt", t0, t1);
    CHECK(is_param_1kib(out, len));

    /* A second client: an unwrap on a warm key, measured. */
    t0 = timer_now();
    CHECK(glue_unwrap(&pk, FW_ENC_KEY2, fw_rng, NULL, &second) == 0);
    t1 = timer_now();
    report_time("rsa2048_unwrap_later", t0, t1);
    CHECK(glue_decrypt(&second, FW_SECRET_DATA3, out, sizeof out, &len) == 0 && equals_text(out, len, FW_EXPECTED_SECRET3));

    mbedtls_platform_zeroize(&session, sizeof session);
    mbedtls_platform_zeroize(&second, sizeof second);
    mbedtls_pk_free(&pk);
    printf("mbedtls: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
