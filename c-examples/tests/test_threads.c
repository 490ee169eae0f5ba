/* Many threads share one key pair and one public key read-only, and one
 * server object, as request threads of a server do: each makes sessions,
 * wraps, unwraps, opens through the server (cache hits and refusals),
 * encrypts and decrypts, and checks every result.
 *
 * Usage: test_threads TESTS_DATA_DIR [THREADS] [ITERATIONS]
 */
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"

static paramcrypt_keypair *shared_key;
static paramcrypt_public_key *shared_public;
static paramcrypt_server *shared_server; /* PKCS#1 v1.5, both modes */
static int iterations = 10;

struct worker {
    int id;
    int failures;
};

static void *work(void *arg) {
    struct worker *w = arg;
    int i;
    for (i = 0; i < iterations; i++) {
        paramcrypt_session *client = NULL, *server = NULL;
        unsigned char enc_key[600], value[128], plain[128];
        char secret[64];
        size_t enc_key_len = 0, value_len = 0, plain_len = 0;
        uint32_t mode = (uint32_t)(i % 2);
        uint32_t padding = (uint32_t)((w->id + i) % 2); /* PKCS#1 v1.5 and OAEP-SHA-1 fit 1024 bits */
        int n = snprintf(secret, sizeof secret, "thread %d, call %d", w->id, i);
        int ok = paramcrypt_session_new(mode, &client) == PARAMCRYPT_OK &&
                 paramcrypt_session_wrap(client, shared_public, padding, enc_key, sizeof enc_key, &enc_key_len) ==
                     PARAMCRYPT_OK &&
                 paramcrypt_keypair_unwrap(shared_key, enc_key, enc_key_len, padding, &server) == PARAMCRYPT_OK &&
                 paramcrypt_session_encrypt(client, (const uint8_t *)secret, (size_t)n, value, sizeof value,
                                            &value_len) == PARAMCRYPT_OK &&
                 paramcrypt_session_decrypt(server, value, value_len, plain, sizeof plain, &plain_len) ==
                     PARAMCRYPT_OK &&
                 plain_len == (size_t)n && memcmp(plain, secret, plain_len) == 0;
        if (!ok) w->failures++;
        paramcrypt_session_free(server);
        if (padding == PARAMCRYPT_PADDING_PKCS1V15) {
            /* Through the shared server: open twice (the second is a cache
             * hit), decrypt; every other key is then refused. */
            paramcrypt_server_session *opened = NULL, *again = NULL;
            int refuse = (i / 2) % 2;
            ok = paramcrypt_server_open(shared_server, NULL, 0, enc_key, enc_key_len, &opened) == PARAMCRYPT_OK &&
                 paramcrypt_server_open(shared_server, NULL, 0, enc_key, enc_key_len, &again) == PARAMCRYPT_OK &&
                 paramcrypt_server_session_decrypt(again, value, value_len, plain, sizeof plain, &plain_len) ==
                     PARAMCRYPT_OK &&
                 plain_len == (size_t)n && memcmp(plain, secret, plain_len) == 0;
            if (ok && refuse) {
                paramcrypt_server_session *refused = NULL;
                ok = paramcrypt_server_session_decrypt(opened, value, 5, plain, sizeof plain, &plain_len) ==
                         PARAMCRYPT_ERR_ENCRYPTION_FAILED &&
                     paramcrypt_server_open(shared_server, NULL, 0, enc_key, enc_key_len, &refused) ==
                         PARAMCRYPT_ERR_ENCRYPTION_FAILED &&
                     refused == NULL;
            }
            if (!ok) w->failures++;
            paramcrypt_server_session_free(again);
            paramcrypt_server_session_free(opened);
        }
        paramcrypt_session_free(client);
    }
    return NULL;
}

/* A whole round trip (wrap, unwrap, decrypt) on a thread with a small
 * stack, as musl-based systems and small worker pools give: glibc's
 * smallest on x86-64 (16 KiB) for every key size on AWS-LC, the README's
 * minimum. Before the AWS-LC operation checked the room left, RSA-4096
 * crashed on 32 KiB and RSA-2048 on 16 KiB; before base64 decoding's two
 * paths had their own buffers, a decryption crashed on 16 KiB where AES
 * ran on VAES (AVX-512). */
struct small_stack_job {
    const paramcrypt_keypair *key;
    int ok;
};

static void *small_stack_work(void *arg) {
    struct small_stack_job *job = arg;
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_session *client = NULL, *server = NULL;
    unsigned char enc_key[700], value[64], wrapped[68], plain[64];
    size_t enc_key_len = 0, value_len = 0, plain_len = 0;
    job->ok = paramcrypt_keypair_public_key(job->key, &public_key) == PARAMCRYPT_OK &&
              paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &client) == PARAMCRYPT_OK &&
              paramcrypt_session_wrap(client, public_key, PARAMCRYPT_PADDING_OAEP_SHA256, enc_key, sizeof enc_key,
                                      &enc_key_len) == PARAMCRYPT_OK &&
              paramcrypt_keypair_unwrap(job->key, enc_key, enc_key_len, PARAMCRYPT_PADDING_OAEP_SHA256, &server) ==
                  PARAMCRYPT_OK &&
              paramcrypt_session_encrypt(client, (const uint8_t *)"small stack", 11, value, sizeof value,
                                         &value_len) == PARAMCRYPT_OK &&
              paramcrypt_session_decrypt(server, value, value_len, plain, sizeof plain, &plain_len) ==
                  PARAMCRYPT_OK &&
              plain_len == 11 && memcmp(plain, "small stack", 11) == 0;
    /* The same value with a line break, which base64 decoding skips on a
     * path of its own. */
    if (job->ok && value_len >= 8 && value_len + 2 <= sizeof wrapped) {
        memcpy(wrapped, value, 8);
        memcpy(wrapped + 8, "\r\n", 2);
        memcpy(wrapped + 10, value + 8, value_len - 8);
        job->ok = paramcrypt_session_decrypt(server, wrapped, value_len + 2, plain, sizeof plain, &plain_len) ==
                      PARAMCRYPT_OK &&
                  plain_len == 11 && memcmp(plain, "small stack", 11) == 0;
    } else {
        job->ok = 0;
    }
    paramcrypt_session_free(server);
    paramcrypt_session_free(client);
    paramcrypt_public_key_free(public_key);
    return NULL;
}

/* AddressSanitizer's red zones make every frame several times larger. */
#if defined(__SANITIZE_ADDRESS__)
#define STACK_SCALE 4
#else
#define STACK_SCALE 1
#endif

static void test_small_stacks(const char *data_dir) {
    static const struct {
        const char *file;
        size_t stack, rsa_crate_stack;
    } cases[] = {{"rsa2048_pkcs8.pem", 16 * 1024, 16 * 1024},
                 {"rsa3072_pkcs8.pem", 16 * 1024, 16 * 1024},
                 /* The rsa-crate backend needs 19 KiB
                    for RSA-4096 (measured on armv7). */
                 {"rsa4096_pkcs8.pem", 16 * 1024, 32 * 1024}};
    int rsa_crate = strcmp(paramcrypt_rsa_backend(), "aws-lc") != 0;
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[1024];
        size_t len;
        unsigned char *pem;
        paramcrypt_keypair *key = NULL;
        pthread_attr_t attr;
        pthread_t tid;
        struct small_stack_job job = {NULL, 0};
        size_t stack;
        int round;
        snprintf(path, sizeof path, "%s/keys/%s", data_dir, cases[c].file);
        pem = read_file(path, &len);
        CHECK_STATUS(paramcrypt_keypair_from_pem(pem, len, &key), PARAMCRYPT_OK);
        free(pem);
        job.key = key;
        /* glibc's smallest stack is 16 KiB on x86-64 but 128 KiB on aarch64. */
        stack = (rsa_crate ? cases[c].rsa_crate_stack : cases[c].stack) * STACK_SCALE;
        if (sysconf(_SC_THREAD_STACK_MIN) > 0 && stack < (size_t)sysconf(_SC_THREAD_STACK_MIN))
            stack = (size_t)sysconf(_SC_THREAD_STACK_MIN);
        /* Twice: the first operation on a key also sets it up. */
        for (round = 0; round < 2; round++) {
            CHECK(pthread_attr_init(&attr) == 0);
            CHECK(pthread_attr_setstacksize(&attr, stack) == 0);
            CHECK(pthread_create(&tid, &attr, small_stack_work, &job) == 0);
            CHECK(pthread_join(tid, NULL) == 0);
            pthread_attr_destroy(&attr);
            CHECK(job.ok);
        }
        printf("test_threads: %s round trip on a %zu KiB thread stack\n", cases[c].file, stack / 1024);
        paramcrypt_keypair_free(key);
    }
}

int main(int argc, char **argv) {
    char path[1024];
    size_t len;
    unsigned char *pem;
    int threads = argc > 2 ? atoi(argv[2]) : 8, i;
    pthread_t tids[64];
    struct worker workers[64];

    setvbuf(stdout, NULL, _IONBF, 0); /* a crash keeps what was printed */
    if (argc < 2 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: %s TESTS_DATA_DIR [THREADS<=64] [ITERATIONS]\n", argv[0]);
        return 2;
    }
    if (argc > 3) iterations = atoi(argv[3]);
    snprintf(path, sizeof path, "%s/keys/rsa1024_pkcs8.pem", argv[1]);
    pem = read_file(path, &len);
    /* The 1024-bit fixture keeps the threads quick; loading it is an opt-in. */
    CHECK_STATUS(paramcrypt_keypair_from_pem_with_sizes(pem, len, PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024, &shared_key),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_keypair_public_key(shared_key, &shared_public), PARAMCRYPT_OK);
    /* Both modes, small tables; every refusal is for good and no peer or
     * server limit applies, so that each thread's outcome is fixed. */
    paramcrypt_server_config config;
    CHECK_STATUS(paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &config), PARAMCRYPT_OK);
    config.modes = PARAMCRYPT_ACCEPT_BOTH;
    config.cache_capacity = 16;
    config.refusal_capacity = 64;
    config.policy.key_failure_budget = 1;
    config.policy.peer_failure_limit = 0;
    config.policy.server_failure_limit = 0;
    CHECK_STATUS(paramcrypt_server_new(shared_key, &config, &shared_server), PARAMCRYPT_OK);
    free(pem);

    for (i = 0; i < threads; i++) {
        workers[i].id = i;
        workers[i].failures = 0;
        CHECK(pthread_create(&tids[i], NULL, work, &workers[i]) == 0);
    }
    for (i = 0; i < threads; i++) {
        CHECK(pthread_join(tids[i], NULL) == 0);
        CHECK(workers[i].failures == 0);
    }
    printf("test_threads: %d threads x %d round trips on one shared key pair and server\n", threads, iterations);
    test_small_stacks(argv[1]);
    paramcrypt_server_free(shared_server);
    paramcrypt_public_key_free(shared_public);
    paramcrypt_keypair_free(shared_key);
    return finish("test_threads");
}
