/* paramcrypt on a microcontroller (QEMU: Cortex-M4 mps2-an386, or RV32IMC virt with ARCH=riscv32): what a device does at boot and
 * per request, checked against values made on the host by Python
 * `cryptography` (fw_vectors.h), with its cost measured.
 *
 * Boot: load the stored PKCS#8 key (no key generation) into a server object
 * with the firmware settings and the timer as its clock, publish
 * getPublicKey.
 * Request: open the client's encKey (an RSA unwrap), decrypt two secret
 * parameters, encrypt a reply. A second request with the same encKey opens
 * it from the cache. An attacker's forged parameter refuses that common key
 * for its window (the encKey gets 40002, then is served again), and its
 * second failure locks the attacker's address down (its answer costs no RSA
 * work, measured). The failure state is saved to a RAM region standing in
 * for flash and survives a reboot. Then one 2048-bit key generation (unless
 * FW_SERVER_ONLY).
 *
 * Output goes over semihosting; the exit status is 0 only if every check
 * passes. Lines starting "measure " are read by `make size`.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fw_common.h"
#include "fw_vectors.h"
#include "paramcrypt.h"

static int passed, failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) {                                                         \
            passed++;                                                       \
        } else {                                                            \
            failed++;                                                       \
            printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                   \
    } while (0)

/* ---- Heap accounting: the link wraps the allocator the library calls. ---- */

static size_t heap_now, heap_peak;
/* A heap of a few KiB, as on a small device: the library's allocations fail
 * (and a failed allocation ends in abort()) beyond heap_limit bytes. */
static size_t heap_limit = (size_t)-1;

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__real_memalign(size_t align, size_t size);
void __real_free(void *ptr);

static void heap_add(void *ptr) {
    if (!ptr) return;
    heap_now += malloc_usable_size(ptr);
    if (heap_now > heap_peak) heap_peak = heap_now;
}

static int over_limit(size_t size) { return size > heap_limit || heap_now > heap_limit - size; }

/* picolibc's calloc and memalign call malloc and free themselves: only the
 * outermost call counts. */
static int nested;

void *__wrap_malloc(size_t size) {
    if (nested) return __real_malloc(size);
    void *ptr = over_limit(size) ? NULL : __real_malloc(size);
    heap_add(ptr);
    return ptr;
}

/* LLVM may turn the library's malloc + memset(0) into calloc. */
void *__wrap_calloc(size_t count, size_t size) {
    void *ptr = NULL;
    if (!(count && over_limit(count * size))) {
        nested++;
        ptr = __real_calloc(count, size);
        nested--;
    }
    heap_add(ptr);
    return ptr;
}

void *__wrap_memalign(size_t align, size_t size) {
    void *ptr = NULL;
    if (!over_limit(size)) {
        nested++;
        ptr = __real_memalign(align, size);
        nested--;
    }
    heap_add(ptr);
    return ptr;
}

void __wrap_free(void *ptr) {
    if (ptr && !nested) heap_now -= malloc_usable_size(ptr);
    __real_free(ptr);
}

/* The library never calls realloc: C's realloc would leave the old block's
 * bytes (perhaps key material) in freed memory; the library copies, wipes
 * and frees instead. Counted to check that. */
static unsigned long realloc_calls;

void *__wrap_realloc(void *ptr, size_t size) {
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    realloc_calls++;
    void *moved = NULL;
    if (!(size > old && over_limit(size - old))) {
        nested++;
        moved = __real_realloc(ptr, size);
        nested--;
    }
    if (moved) {
        heap_now -= old;
        heap_add(moved);
    }
    return moved;
}

/* The server's clock: milliseconds from the timer (TICKS_PER_MS ticks
 * each), widened past the 32-bit counter's wrap (171 s on the Cortex-M4,
 * 4.3 s on RISC-V; the server reads it far more often), with 32-bit
 * divisions only (a 64-bit one would link a library routine). `skipped_ms`
 * lets the test pass time without spending it. */
static uint64_t clock_ms, skipped_ms;
static uint32_t clock_last = 0xFFFFFFFFu, clock_rest;

static uint64_t fw_clock(void *user) {
    uint32_t now = timer_now(), elapsed = clock_last - now; /* counts down */
    (void)user;
    clock_last = now;
    clock_ms += elapsed / TICKS_PER_MS;
    clock_rest += elapsed % TICKS_PER_MS;
    if (clock_rest >= TICKS_PER_MS) {
        clock_ms++;
        clock_rest -= TICKS_PER_MS;
    }
    return clock_ms + skipped_ms;
}

/* Where a device keeps its failure state across reboots (a flash page);
 * RAM stands in for it under QEMU. */
static uint8_t fw_flash[1024];
static size_t fw_flash_len;

static uint8_t out[2048];

/* Request senders: the server counts failures per peer. */
#define CLIENT ((const uint8_t *)"10.0.0.2")
#define ATTACKER ((const uint8_t *)"10.0.0.66")
#define PEER_LEN 8
#define ATTACKER_LEN 9

/* The firmware settings with the timer as the clock; the peer limit is 2
 * failures so that this test needs no RSA work beyond its vectors (the
 * default is 10 a day). */
static paramcrypt_server_config fw_config(void) {
    paramcrypt_server_config config;
    CHECK(paramcrypt_server_config_init(PARAMCRYPT_SETTING_FIRMWARE, &config) == PARAMCRYPT_OK);
    config.clock = fw_clock;
    config.policy.peer_failure_limit = 2;
    return config;
}

int main(void) {
    paramcrypt_keypair *key = NULL;
    paramcrypt_server *server = NULL;
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_server_session *session = NULL, *again = NULL;
    paramcrypt_server_config config;
    size_t len = 0, secret_len = 0, heap_before;
    uint8_t secret[64];
    uint32_t t0, t1;
    uintptr_t top;

    printf("paramcrypt %s firmware on %s\n", paramcrypt_version(), PLATFORM_NAME);
    timer_start();

    /* Boot: load the stored key. */
    t0 = timer_now();
    CHECK(paramcrypt_keypair_from_pkcs8_der(FW_PRIVATE_KEY_DER, sizeof FW_PRIVATE_KEY_DER, &key) == PARAMCRYPT_OK);
    t1 = timer_now();
    report_time("key_load", t0, t1);
    if (!key) return 1;
    CHECK(paramcrypt_keypair_bits(key) == 2048);
    printf("measure key_pair_heap_bytes=%lu\n", (unsigned long)heap_now);

    /* The server object takes a copy of the key pair; the original goes.
     * Without an OS the server needs a clock. */
    config = fw_config();
    config.clock = NULL;
    CHECK(paramcrypt_server_new_with_rng(key, &config, fw_rng, NULL, &server) == PARAMCRYPT_ERR_INVALID_ARGUMENT);
    config = fw_config();
    CHECK(paramcrypt_server_new_with_rng(key, &config, fw_rng, NULL, &server) == PARAMCRYPT_OK);
    paramcrypt_keypair_free(key);
    key = NULL;
    if (!server) return 1;
    printf("measure server_heap_bytes=%lu\n", (unsigned long)heap_now);

    /* getPublicKey. */
    CHECK(paramcrypt_server_public_key(server, &public_key) == PARAMCRYPT_OK);
    CHECK(paramcrypt_public_key_to_base64(public_key, out, sizeof out - 1, &len) == PARAMCRYPT_OK);
    out[len] = 0;
    CHECK(strcmp((const char *)out, FW_EXPECTED_PUBLIC_KEY_B64) == 0);
    printf("getPublicKey: %s\n", out);

    /* The first request: open encKey (an RSA unwrap; the server's copy of
     * the key makes its blinding pair now) and decrypt one parameter,
     * measured. */
    heap_before = heap_now;
    heap_peak = heap_now;
    top = current_sp();
    paint_stack(top);
    t0 = timer_now();
    CHECK(paramcrypt_server_open_with_rng(server, CLIENT, PEER_LEN, (const uint8_t *)FW_ENC_KEY, strlen(FW_ENC_KEY),
                                          fw_rng, NULL, &session) == PARAMCRYPT_OK);
    t1 = timer_now();
    CHECK(paramcrypt_server_session_decrypt(session, (const uint8_t *)FW_SECRET_DATA1, strlen(FW_SECRET_DATA1),
                                            secret, sizeof secret, &secret_len) == PARAMCRYPT_OK);
    printf("measure unwrap_decrypt_stack_bytes=%lu\n", (unsigned long)stack_used_below(top));
    printf("measure unwrap_decrypt_heap_peak_bytes=%lu\n", (unsigned long)(heap_peak - heap_before));
    report_time("rsa2048_unwrap_first", t0, t1);
    CHECK(equals_text(secret, secret_len, FW_EXPECTED_SECRET1));
    CHECK(paramcrypt_server_session_decrypt(session, (const uint8_t *)FW_SECRET_DATA2, strlen(FW_SECRET_DATA2),
                                            secret, sizeof secret, &secret_len) == PARAMCRYPT_OK);
    CHECK(equals_text(secret, secret_len, FW_EXPECTED_SECRET2));
    memset(secret, 0, sizeof secret);
    printf("sendSecretData: both secrets decrypted and match\n");

    /* getSecretData: the reply under the client's key and IV. */
    CHECK(paramcrypt_server_session_encrypt_with_rng(session, (const uint8_t *)FW_REPLY_PLAINTEXT,
                                                     strlen(FW_REPLY_PLAINTEXT), fw_rng, NULL, out, sizeof out - 1,
                                                     &len) == PARAMCRYPT_OK);
    out[len] = 0;
    CHECK(strcmp((const char *)out, FW_EXPECTED_REPLY) == 0);
    printf("getSecretData: reply matches the host's value\n");

    /* A 1 KiB parameter. */
    t0 = timer_now();
    CHECK(paramcrypt_server_session_decrypt(session, (const uint8_t *)FW_PARAM_1KIB, strlen(FW_PARAM_1KIB), out,
                                            sizeof out, &len) == PARAMCRYPT_OK);
    t1 = timer_now();
    report_time("param_1kib_decrypt", t0, t1);
    CHECK(is_param_1kib(out, len));

    /* A second client's first request: an RSA unwrap on a warm key (the
     * blinding pair made above is reused, squared), measured. */
    {
        paramcrypt_server_session *second = NULL;
        t0 = timer_now();
        CHECK(paramcrypt_server_open_with_rng(server, CLIENT, PEER_LEN, (const uint8_t *)FW_ENC_KEY2,
                                              strlen(FW_ENC_KEY2), fw_rng, NULL, &second) == PARAMCRYPT_OK);
        t1 = timer_now();
        report_time("rsa2048_unwrap_later", t0, t1);
        CHECK(paramcrypt_server_session_decrypt(second, (const uint8_t *)FW_SECRET_DATA3, strlen(FW_SECRET_DATA3),
                                                secret, sizeof secret, &secret_len) == PARAMCRYPT_OK);
        CHECK(equals_text(secret, secret_len, FW_EXPECTED_SECRET3));
        memset(secret, 0, sizeof secret);
        paramcrypt_server_session_free(second);
        printf("second client: encKey opened on a warm key\n");
    }

    /* A second request with the same encKey: from the cache, no RSA work
     * (and no RNG needed), measured. */
    t0 = timer_now();
    CHECK(paramcrypt_server_open(server, CLIENT, PEER_LEN, (const uint8_t *)FW_ENC_KEY, strlen(FW_ENC_KEY), &again) ==
          PARAMCRYPT_OK);
    t1 = timer_now();
    report_time("cached_open", t0, t1);
    CHECK(paramcrypt_server_session_decrypt(again, (const uint8_t *)FW_SECRET_DATA1, strlen(FW_SECRET_DATA1), secret,
                                            sizeof secret, &secret_len) == PARAMCRYPT_OK);
    CHECK(equals_text(secret, secret_len, FW_EXPECTED_SECRET1));
    memset(secret, 0, sizeof secret);
    printf("second request: encKey opened from the cache\n");

    /* Hostile sizes on a small heap, from the attacker: 64 KiB is 16 times
     * this device's whole heap budget. Nothing is decoded or allocated for
     * them before their length is checked, so the device answers 40002 and
     * keeps running. The text itself lives outside the counted heap. */
    {
        const size_t big_len = 64 * 1024;
        uint8_t *big = __real_malloc(big_len);
        paramcrypt_server_session *hostile = NULL, *forger = NULL;
        CHECK(big != NULL);
        CHECK(paramcrypt_server_open(server, ATTACKER, ATTACKER_LEN, (const uint8_t *)FW_ENC_KEY, strlen(FW_ENC_KEY),
                                     &forger) == PARAMCRYPT_OK);
        if (big) {
            memset(big, 'A', big_len);
            heap_limit = heap_now + 12 * 1024;
            heap_before = heap_now;
            heap_peak = heap_now;
            /* A 64 KiB encKey. */
            CHECK(paramcrypt_server_open_with_rng(server, ATTACKER, ATTACKER_LEN, big, big_len, fw_rng, NULL,
                                                  &hostile) == PARAMCRYPT_ERR_ENCRYPTION_FAILED);
            CHECK(hostile == NULL);
            /* A 64 KiB parameter: too long for the device's buffer, reported
             * from its length (the device answers 40002 for it)... */
            CHECK(paramcrypt_server_session_decrypt(forger, big, big_len, out, sizeof out, &len) ==
                  PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
            /* ...and one whose length no base64 can have: 40002 itself, a
             * failure of the key and of the attacker's address. */
            CHECK(paramcrypt_server_session_decrypt(forger, big, big_len - 1, out, sizeof out, &len) ==
                  PARAMCRYPT_ERR_ENCRYPTION_FAILED);
            printf("measure hostile_64kib_heap_peak_bytes=%lu\n", (unsigned long)(heap_peak - heap_before));
            heap_limit = (size_t)-1;
            __real_free(big);
            printf("hostile sizes: a 64 KiB encKey and a 64 KiB parameter answered on a 12 KiB heap\n");
        }
        paramcrypt_server_session_free(forger);
    }

    /* The failure refused the common key for its window (10 s): the
     * client's sessions and its encKey get 40002 meanwhile. */
    CHECK(paramcrypt_server_session_decrypt(session, (const uint8_t *)FW_SECRET_DATA1, strlen(FW_SECRET_DATA1),
                                            secret, sizeof secret, &secret_len) == PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    paramcrypt_server_session_free(again);
    paramcrypt_server_session_free(session);
    session = again = NULL;
    CHECK(paramcrypt_server_open_with_rng(server, CLIENT, PEER_LEN, (const uint8_t *)FW_ENC_KEY, strlen(FW_ENC_KEY),
                                          fw_rng, NULL, &session) == PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    printf("refused: after a forged parameter, the same encKey got 40002\n");

    /* The attacker's second failure locks its address down: every answer is
     * 40002 without RSA work or decryption (measured), for an hour. */
    {
        paramcrypt_server_session *forger = NULL;
        paramcrypt_server_stats stats;
        CHECK(paramcrypt_server_open(server, ATTACKER, ATTACKER_LEN, (const uint8_t *)FW_ENC_KEY2,
                                     strlen(FW_ENC_KEY2), &forger) == PARAMCRYPT_OK);
        CHECK(paramcrypt_server_session_decrypt(forger, (const uint8_t *)"AAAAAAAAAAAAAAAAAAAAAAA=", 24, out,
                                                sizeof out, &len) == PARAMCRYPT_ERR_ENCRYPTION_FAILED);
        paramcrypt_server_session_free(forger);
        t0 = timer_now();
        CHECK(paramcrypt_server_open_with_rng(server, ATTACKER, ATTACKER_LEN, (const uint8_t *)FW_ENC_KEY2,
                                              strlen(FW_ENC_KEY2), fw_rng, NULL, &session) ==
              PARAMCRYPT_ERR_ENCRYPTION_FAILED);
        t1 = timer_now();
        report_time("lockdown_answer", t0, t1);
        CHECK(paramcrypt_server_get_stats(server, &stats) == PARAMCRYPT_OK);
        CHECK(stats.failures == 2 && stats.peer_lockdowns == 1 && stats.lockdown_answers == 1);
        CHECK(stats.unwraps == 2);
        printf("lockdown: the attacker's address answered 40002 without RSA work\n");
    }

    /* Ten seconds later the client, which never makes a new key, is served
     * with its old encKey again (from the cache). */
    skipped_ms += 10 * 1000;
    CHECK(paramcrypt_server_open(server, CLIENT, PEER_LEN, (const uint8_t *)FW_ENC_KEY, strlen(FW_ENC_KEY),
                                 &session) == PARAMCRYPT_OK);
    CHECK(paramcrypt_server_session_decrypt(session, (const uint8_t *)FW_SECRET_DATA1, strlen(FW_SECRET_DATA1),
                                            secret, sizeof secret, &secret_len) == PARAMCRYPT_OK);
    CHECK(equals_text(secret, secret_len, FW_EXPECTED_SECRET1));
    memset(secret, 0, sizeof secret);
    paramcrypt_server_session_free(session);
    session = NULL;
    printf("after the window: the client's encKey is served again\n");

    /* Save the failure state to "flash" and reboot: load the key and the
     * state again. The attacker is still locked down; a corrupted page is
     * refused whole. */
    CHECK(paramcrypt_server_export_state(server, fw_flash, sizeof fw_flash, &fw_flash_len) == PARAMCRYPT_OK);
    printf("measure state_bytes=%lu\n", (unsigned long)fw_flash_len);
    paramcrypt_server_free(server);
    server = NULL;
    CHECK(paramcrypt_keypair_from_pkcs8_der(FW_PRIVATE_KEY_DER, sizeof FW_PRIVATE_KEY_DER, &key) == PARAMCRYPT_OK);
    config = fw_config();
    config.state = fw_flash;
    config.state_len = fw_flash_len;
    fw_flash[fw_flash_len / 2] ^= 1;
    CHECK(paramcrypt_server_new_with_rng(key, &config, fw_rng, NULL, &server) == PARAMCRYPT_ERR_INVALID_STATE);
    fw_flash[fw_flash_len / 2] ^= 1;
    CHECK(paramcrypt_server_new_with_rng(key, &config, fw_rng, NULL, &server) == PARAMCRYPT_OK);
    paramcrypt_keypair_free(key);
    key = NULL;
    if (!server) return 1;
    CHECK(paramcrypt_server_open_with_rng(server, ATTACKER, ATTACKER_LEN, (const uint8_t *)FW_ENC_KEY,
                                          strlen(FW_ENC_KEY), fw_rng, NULL, &session) ==
          PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    printf("reboot: the failure state came back from flash; the attacker is still locked down\n");

    /* A bad encKey is the uniform failure on the device too; without an OS
     * RNG, an open that needs RSA work must be given the hardware RNG. */
    CHECK(paramcrypt_server_open_with_rng(server, CLIENT, PEER_LEN, (const uint8_t *)"AAAA", 4, fw_rng, NULL,
                                          &session) == PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK(paramcrypt_server_open(server, CLIENT, PEER_LEN, (const uint8_t *)FW_ENC_KEY, strlen(FW_ENC_KEY),
                                 &session) == PARAMCRYPT_ERR_RNG);
    CHECK(session == NULL);

#ifndef FW_SERVER_ONLY
    {
        /* One 2048-bit key generation (the floor for new keys), then a round
         * trip with the new key. */
        paramcrypt_keypair *fresh = NULL;
        paramcrypt_public_key *fresh_public = NULL;
        paramcrypt_session *client = NULL, *server = NULL;
        uint8_t enc_key[400]; /* 344 for 2048 bits */
        size_t enc_key_len = 0;
        t0 = timer_now();
        CHECK(paramcrypt_keypair_generate_with_rng(2048, fw_rng, NULL, &fresh) == PARAMCRYPT_OK);
        t1 = timer_now();
        report_time("rsa2048_keygen", t0, t1);
        CHECK(paramcrypt_keypair_bits(fresh) == 2048);
        CHECK(paramcrypt_keypair_public_key(fresh, &fresh_public) == PARAMCRYPT_OK);
        CHECK(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, fw_rng, NULL, &client) == PARAMCRYPT_OK);
        CHECK(paramcrypt_session_wrap_with_rng(client, fresh_public, PARAMCRYPT_PADDING_PKCS1V15, fw_rng, NULL, enc_key,
                                               sizeof enc_key, &enc_key_len) == PARAMCRYPT_OK);
        CHECK(paramcrypt_keypair_unwrap_with_rng(fresh, enc_key, enc_key_len, PARAMCRYPT_PADDING_PKCS1V15, fw_rng,
                                                 NULL, &server) == PARAMCRYPT_OK);
        printf("key generation: 2048-bit key made and used\n");
        paramcrypt_session_free(server);
        paramcrypt_session_free(client);
        paramcrypt_public_key_free(fresh_public);
        paramcrypt_keypair_free(fresh);
    }
#endif

    paramcrypt_public_key_free(public_key);
    paramcrypt_server_free(server);
    CHECK(heap_now == 0);
    CHECK(realloc_calls == 0);
    printf("firmware: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
