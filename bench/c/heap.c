/* Heap used by one paramcrypt unwrap (and one server open): every
 * allocation the library makes, Rust's and AWS-LC's, counted by wrapping
 * the C allocator at link time (-Wl,--wrap=malloc,...). Prints the number of
 * allocations and the peak of live heap bytes above what was live before.
 * Usage: heap KEY.pem. Built and run by `make bench`. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void report(const char *what, size_t start_live, size_t start_allocs) {
    printf("| %s | %zu | %zu B |\n", what, allocations - start_allocs, peak - start_live);
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "heap: %s failed\n", #c); return 1; } } while (0)

int main(int argc, char **argv) {
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
    CHECK(paramcrypt_server_new(key, PARAMCRYPT_PADDING_PKCS1V15, PARAMCRYPT_ACCEPT_KEY_IV, 16, 16, &server) ==
          PARAMCRYPT_OK);
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
    const char *names[2] = {"RSA-2048 unwrap, PKCS#1 v1.5 (to a session, freed)",
                            "RSA-2048 unwrap, OAEP-SHA-256 (to a session, freed)"};
    for (int i = 0; i < 2; i++) {
        size_t start_live = live, start_allocs = allocations;
        peak = live;
        paramcrypt_session *s = NULL;
        CHECK(paramcrypt_keypair_unwrap(key, enc_key[i], enc_key_len[i], i ? PARAMCRYPT_PADDING_OAEP_SHA256 : 0, &s) ==
              PARAMCRYPT_OK);
        paramcrypt_session_free(s);
        report(names[i], start_live, start_allocs);
    }
    for (int i = 0; i < 2; i++) {
        size_t start_live = live, start_allocs = allocations;
        peak = live;
        paramcrypt_server_session *s = NULL;
        CHECK(paramcrypt_server_open(server, enc_key[0], enc_key_len[0], &s) == PARAMCRYPT_OK);
        paramcrypt_server_session_free(s);
        report(i ? "server open, cache hit" : "server open, first request (unwrap, cached)", start_live, start_allocs);
    }
    paramcrypt_server_free(server);
    paramcrypt_session_free(client);
    paramcrypt_public_key_free(pub);
    paramcrypt_keypair_free(key);
    return 0;
}
