/* Memory used by one paramcrypt unwrap (and one server open): every heap
 * allocation the library makes, Rust's and AWS-LC's, counted by wrapping
 * the C allocator at link time (-Wl,--wrap=malloc,...). Prints the number of
 * allocations and the peak of live heap bytes above what was live before
 * (for unwraps: the first of 64 in a row, and the most any of them took),
 * then the stack an unwrap uses (run on a thread whose painted stack is
 * checked afterwards). OpenSSL's decryption of the same ciphertexts is
 * measured too, for comparison (its allocator hooks call the wrapped malloc).
 * Usage: heap KEY.pem. Built and run by `make bench`. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <paramcrypt.h>

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void __real_free(void *);
int __real_posix_memalign(void **, size_t, size_t);

static size_t live, peak, allocations;

static void counted(void *p) {
    if (p) {
        live += malloc_usable_size(p);
        if (live > peak) peak = live;
        allocations++;
    }
}
void *__wrap_malloc(size_t n) { void *p = __real_malloc(n); counted(p); return p; }
void *__wrap_calloc(size_t n, size_t m) { void *p = __real_calloc(n, m); counted(p); return p; }
int __wrap_posix_memalign(void **out, size_t align, size_t n) {
    int r = __real_posix_memalign(out, align, n);
    if (r == 0) counted(*out);
    return r;
}
void __wrap_free(void *p) {
    if (p) live -= malloc_usable_size(p);
    __real_free(p);
}
void *__wrap_realloc(void *p, size_t n) {
    size_t before = p ? malloc_usable_size(p) : 0;
    void *q = __real_realloc(p, n);
    if (q) {
        live -= before;
        counted(q);
    }
    return q;
}

/* OpenSSL's allocations, through the wrapped allocator. */
static void *ossl_malloc(size_t n, const char *file, int line) {
    (void)file, (void)line;
    return malloc(n);
}
static void *ossl_realloc(void *p, size_t n, const char *file, int line) {
    (void)file, (void)line;
    return realloc(p, n);
}
static void ossl_free(void *p, const char *file, int line) {
    (void)file, (void)line;
    free(p);
}

static void report(const char *what, size_t start_live, size_t start_allocs) {
    printf("| %s | %zu | %zu B |\n", what, allocations - start_allocs, peak - start_live);
}

/* Stack high-water of run(arg): run on a thread whose stack is a painted
 * buffer, less what the same thread uses to run nothing. */
#define PAINT 0xA5
static unsigned char thread_stack[512 * 1024] __attribute__((aligned(4096)));
struct stack_job {
    void (*run)(void *);
    void *arg;
};
static void *run_job(void *job) {
    struct stack_job *j = job;
    if (j->run) j->run(j->arg);
    return NULL;
}
static size_t stack_used(void (*run)(void *), void *arg) {
    memset(thread_stack, PAINT, sizeof thread_stack);
    pthread_attr_t attr;
    pthread_t thread;
    struct stack_job job = {run, arg};
    if (pthread_attr_init(&attr) || pthread_attr_setstack(&attr, thread_stack, sizeof thread_stack) ||
        pthread_create(&thread, &attr, run_job, &job) || pthread_join(thread, NULL)) {
        fprintf(stderr, "heap: could not run a thread on a painted stack\n");
        exit(1);
    }
    pthread_attr_destroy(&attr);
    size_t untouched = 0; /* the stack grows down from the top of the buffer */
    while (untouched < sizeof thread_stack && thread_stack[untouched] == PAINT) untouched++;
    return sizeof thread_stack - untouched;
}
static size_t stack_high_water(void (*run)(void *), void *arg) {
    size_t used = stack_used(run, arg), baseline = stack_used(NULL, NULL);
    return used > baseline ? used - baseline : 0;
}

/* One unwrap to a session (freed) with paramcrypt; `ok` stays 1 while all succeed. */
struct unwrap_job {
    paramcrypt_keypair *key;
    const uint8_t *enc_key;
    size_t enc_key_len;
    paramcrypt_padding padding;
    int ok;
};
static void unwrap_once(void *p) {
    struct unwrap_job *j = p;
    paramcrypt_session *s = NULL;
    j->ok &= paramcrypt_keypair_unwrap(j->key, j->enc_key, j->enc_key_len, j->padding, &s) == PARAMCRYPT_OK;
    paramcrypt_session_free(s);
}
/* The same with OpenSSL: base64 decoding and EVP_PKEY_decrypt with a
   context made beforehand, as bench.c does; the key:iv text is not parsed
   (no heap). */
struct ossl_job {
    EVP_PKEY_CTX *ctx;
    const uint8_t *enc_key;
    size_t enc_key_len;
    int ok;
};
static void ossl_decrypt_once(void *p) {
    struct ossl_job *j = p;
    uint8_t ciphertext[1024], plaintext[1024];
    int n = EVP_DecodeBlock(ciphertext, j->enc_key, (int)j->enc_key_len);
    n -= (j->enc_key[j->enc_key_len - 1] == '=') + (j->enc_key[j->enc_key_len - 2] == '=');
    size_t len = sizeof plaintext;
    j->ok &= n > 0 && EVP_PKEY_decrypt(j->ctx, plaintext, &len, ciphertext, (size_t)n) == 1 &&
             (len == 65 || len == 16);
}

/* Heap of `times` runs in a row: the first, and the most any of them took
   (every 32nd RSA operation renews the blinding factors, in AWS-LC as in
   OpenSSL). */
enum { RUNS = 64 };
struct heap_use {
    size_t first_allocations, first_peak, max_allocations, max_peak;
};
static struct heap_use heap_of(void (*run)(void *), void *arg) {
    struct heap_use u = {0, 0, 0, 0};
    for (int n = 0; n < RUNS; n++) {
        size_t start_live = live, start_allocs = allocations;
        peak = live;
        run(arg);
        size_t used = peak - start_live, count = allocations - start_allocs;
        if (n == 0) u.first_allocations = count, u.first_peak = used;
        if (count > u.max_allocations) u.max_allocations = count;
        if (used > u.max_peak) u.max_peak = used;
    }
    return u;
}
static void report_runs(const char *what, struct heap_use u) {
    printf("| %s | %zu | %zu B |\n", what, u.first_allocations, u.first_peak);
    printf("| the same, most of %d in a row | %zu | %zu B |\n", RUNS, u.max_allocations, u.max_peak);
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "heap: %s failed\n", #c); return 1; } } while (0)

int main(int argc, char **argv) {
    if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free)) {
        fprintf(stderr, "heap: CRYPTO_set_mem_functions failed\n");
        return 1;
    }
    static char pem[8192];
    FILE *f = fopen(argc > 1 ? argv[1] : "tests/data/keys/rsa2048_pkcs8.pem", "rb");
    CHECK(f != NULL);
    size_t pem_len = fread(pem, 1, sizeof pem, f);
    fclose(f);

    paramcrypt_keypair *key = NULL;
    paramcrypt_public_key *pub = NULL;
    paramcrypt_session *client = NULL;
    paramcrypt_server *server = NULL;
    CHECK(paramcrypt_keypair_from_pem((const uint8_t *)pem, pem_len, &key) == PARAMCRYPT_OK);
    CHECK(paramcrypt_keypair_public_key(key, &pub) == PARAMCRYPT_OK);
    CHECK(paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &client) == PARAMCRYPT_OK);
    paramcrypt_server_config config;
    CHECK(paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &config) == PARAMCRYPT_OK);
    config.cache_capacity = 16;
    config.refusal_capacity = 16;
    config.peer_capacity = 16;
    CHECK(paramcrypt_server_new(key, &config, &server) == PARAMCRYPT_OK);
    uint8_t enc_key[2][1024];
    size_t enc_key_len[2];
    CHECK(paramcrypt_session_wrap(client, pub, PARAMCRYPT_PADDING_PKCS1V15, enc_key[0], 1024, &enc_key_len[0]) ==
          PARAMCRYPT_OK);
    CHECK(paramcrypt_session_wrap(client, pub, PARAMCRYPT_PADDING_OAEP_SHA256, enc_key[1], 1024, &enc_key_len[1]) ==
          PARAMCRYPT_OK);
    /* Warm up: one of each first (lazily initialized state is not per request). */
    for (int i = 0; i < 2; i++) {
        paramcrypt_session *s = NULL;
        CHECK(paramcrypt_keypair_unwrap(key, enc_key[i], enc_key_len[i], i ? PARAMCRYPT_PADDING_OAEP_SHA256 : 0, &s) ==
              PARAMCRYPT_OK);
        paramcrypt_session_free(s);
    }

    printf("paramcrypt %s, RSA on %s: heap of one request, all allocations (Rust and C)\n\n", paramcrypt_version(),
           paramcrypt_rsa_backend());
    printf("| operation | allocations | peak heap above the start |\n| --- | ---: | ---: |\n");
    size_t unwrap_peak_max = 0, unwrap_allocations_max = 0;
    const char *names[2] = {"RSA-2048 unwrap, PKCS#1 v1.5 (to a session, freed)",
                            "RSA-2048 unwrap, OAEP-SHA-256 (to a session, freed)"};
    for (int i = 0; i < 2; i++) {
        struct unwrap_job job = {key, enc_key[i], enc_key_len[i],
                                 i ? PARAMCRYPT_PADDING_OAEP_SHA256 : PARAMCRYPT_PADDING_PKCS1V15, 1};
        struct heap_use u = heap_of(unwrap_once, &job);
        CHECK(job.ok);
        report_runs(names[i], u);
        if (u.max_peak > unwrap_peak_max) unwrap_peak_max = u.max_peak;
        if (u.max_allocations > unwrap_allocations_max) unwrap_allocations_max = u.max_allocations;
    }
    for (int i = 0; i < 2; i++) {
        size_t start_live = live, start_allocs = allocations;
        peak = live;
        paramcrypt_server_session *s = NULL;
        CHECK(paramcrypt_server_open(server, (const uint8_t *)"127.0.0.1", 9, enc_key[0], enc_key_len[0], &s) ==
              PARAMCRYPT_OK);
        paramcrypt_server_session_free(s);
        report(i ? "server open, cache hit" : "server open, first request (unwrap, cached)", start_live, start_allocs);
    }

    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    EVP_PKEY *ossl_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    CHECK(ossl_key != NULL);
    EVP_PKEY_CTX *ctx[2] = {EVP_PKEY_CTX_new(ossl_key, NULL), EVP_PKEY_CTX_new(ossl_key, NULL)};
    CHECK(ctx[0] && EVP_PKEY_decrypt_init(ctx[0]) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx[0], RSA_PKCS1_PADDING) == 1);
    CHECK(ctx[1] && EVP_PKEY_decrypt_init(ctx[1]) == 1 &&
          EVP_PKEY_CTX_set_rsa_padding(ctx[1], RSA_PKCS1_OAEP_PADDING) == 1 &&
          EVP_PKEY_CTX_set_rsa_oaep_md(ctx[1], EVP_sha256()) == 1 &&
          EVP_PKEY_CTX_set_rsa_mgf1_md(ctx[1], EVP_sha256()) == 1);
    const char *ossl_names[2] = {"OpenSSL %s: EVP_PKEY_decrypt, PKCS#1 v1.5 (for comparison)",
                                 "OpenSSL %s: EVP_PKEY_decrypt, OAEP-SHA-256 (for comparison)"};
    for (int i = 0; i < 2; i++) {
        struct ossl_job job = {ctx[i], enc_key[i], enc_key_len[i], 1};
        ossl_decrypt_once(&job); /* warms up */
        struct heap_use u = heap_of(ossl_decrypt_once, &job);
        CHECK(job.ok);
        char what[128];
        snprintf(what, sizeof what, ossl_names[i], OpenSSL_version(OPENSSL_VERSION_STRING));
        report_runs(what, u);
    }
    /* Stack of one unwrap, on a fresh thread (the heap rows above are on this one). */
    struct unwrap_job unwrap = {key, enc_key[0], enc_key_len[0], PARAMCRYPT_PADDING_PKCS1V15, 1};
    size_t unwrap_stack = stack_high_water(unwrap_once, &unwrap);
    CHECK(unwrap.ok);
    struct ossl_job ossl = {ctx[0], enc_key[0], enc_key_len[0], 1};
    size_t ossl_stack = stack_high_water(ossl_decrypt_once, &ossl);
    CHECK(ossl.ok);
    printf("\n| stack of one RSA-2048 unwrap, PKCS#1 v1.5 | high-water |\n| --- | ---: |\n");
    printf("| paramcrypt (RSA on %s) | %zu B |\n", paramcrypt_rsa_backend(), unwrap_stack);
    printf("| OpenSSL %s: EVP_PKEY_decrypt | %zu B |\n", OpenSSL_version(OPENSSL_VERSION_STRING), ossl_stack);

    EVP_PKEY_CTX_free(ctx[0]);
    EVP_PKEY_CTX_free(ctx[1]);
    EVP_PKEY_free(ossl_key);

    /* The performance issue's target for one unwrap (both paddings). */
    {
        int met = unwrap_peak_max <= 8192 && unwrap_allocations_max <= 100;
        printf("\ntarget: heap per unwrap at most 8 KiB in at most 100 allocations: %s (%zu B, %zu allocations)\n",
               met ? "met" : "NOT met", unwrap_peak_max, unwrap_allocations_max);
    }

    paramcrypt_server_free(server);
    paramcrypt_session_free(client);
    paramcrypt_public_key_free(pub);
    paramcrypt_keypair_free(key);
    return 0;
}
