/* paramcrypt against OpenSSL 3 and mbedTLS 2.28, the same protocol steps
 * through each library's C API, on the same 2048-bit key:
 *
 *   key generation      RSA key pair of 2048 bits (and 1024 where allowed)
 *   wrap                RSA-encrypt the 65-byte "hex(key):hex(iv)" text, base64
 *   unwrap              base64-decode an encKey, RSA-decrypt, parse key:iv
 *   decrypt pipeline    base64-decode a parameter, AES-128-CBC-decrypt, unpad
 *   encrypt pipeline    pad, AES-128-CBC-encrypt, base64-encode
 *
 * Rounds alternate the libraries (paramcrypt, OpenSSL, mbedTLS, then again),
 * the process is pinned to one CPU, and each figure is the median of the
 * rounds. Usage: bench [KEY.pem] [ROUNDS]. `make bench` builds and runs it.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <paramcrypt.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/crypto.h>

#include <mbedtls/aes.h>
#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>

#define LIBS 3
#define MAX_ROUNDS 31

static void die(const char *what) {
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}
#define CHECK(cond) do { if (!(cond)) die(#cond); } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --- shared state ------------------------------------------------------ */

static uint8_t KEY[16], IV[16];
static char KEY_IV_TEXT[66];              /* hex(key):hex(iv), 65 chars */
static unsigned char ENC_KEY_V15[1024], ENC_KEY_OAEP[1024];
static size_t ENC_KEY_V15_LEN, ENC_KEY_OAEP_LEN;
static const size_t SIZES[3] = {64, 1024, 65536};
static unsigned char PLAINTEXT[65536];
static unsigned char PARAM[3][90000];     /* base64 ciphertexts, key:iv mode */
static size_t PARAM_LEN[3];
static unsigned char OUT[100000], OUT2[100000];

static paramcrypt_keypair *pc_key;
static paramcrypt_public_key *pc_public;
static paramcrypt_session *pc_session;
static EVP_PKEY *ossl_key;
static EVP_PKEY_CTX *ossl_dec_v15, *ossl_dec_oaep, *ossl_enc_v15;
static mbedtls_pk_context mb_pk;
static mbedtls_rsa_context *mb_rsa;
static mbedtls_ctr_drbg_context mb_drbg;
static mbedtls_entropy_context mb_entropy;

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The key:iv text the OpenSSL and mbedTLS versions parse after decrypting. */
static int parse_key_iv(const unsigned char *text, size_t len, uint8_t key[16], uint8_t iv[16]) {
    if (len != 65 || text[32] != ':') return 0;
    for (int i = 0; i < 32; i++) {
        int hi = hex_value((char)text[i < 16 ? 2 * i : 2 * i + 1]);
        int lo = hex_value((char)text[i < 16 ? 2 * i + 1 : 2 * i + 2]);
        if (hi < 0 || lo < 0) return 0;
        (i < 16 ? key : iv)[i % 16] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* --- paramcrypt ---------------------------------------------------------- */

static void pc_keygen(int bits) {
    paramcrypt_keypair *k = NULL;
    CHECK(paramcrypt_keypair_generate((size_t)bits, &k) == PARAMCRYPT_OK);
    paramcrypt_keypair_free(k);
}
static void pc_wrap(void) {
    size_t len;
    CHECK(paramcrypt_session_wrap(pc_session, pc_public, PARAMCRYPT_PADDING_PKCS1V15, OUT, sizeof OUT, &len) ==
          PARAMCRYPT_OK);
}
static void pc_unwrap(int oaep) {
    paramcrypt_session *s = NULL;
    CHECK(paramcrypt_keypair_unwrap(pc_key, oaep ? ENC_KEY_OAEP : ENC_KEY_V15, oaep ? ENC_KEY_OAEP_LEN : ENC_KEY_V15_LEN,
                                    oaep ? PARAMCRYPT_PADDING_OAEP_SHA256 : PARAMCRYPT_PADDING_PKCS1V15,
                                    &s) == PARAMCRYPT_OK);
    paramcrypt_session_free(s);
}
static void pc_decrypt(int size) {
    size_t len;
    CHECK(paramcrypt_session_decrypt(pc_session, PARAM[size], PARAM_LEN[size], OUT, sizeof OUT, &len) ==
              PARAMCRYPT_OK && len == SIZES[size]);
}
static void pc_encrypt(int size) {
    size_t len;
    CHECK(paramcrypt_session_encrypt(pc_session, PLAINTEXT, SIZES[size], OUT, sizeof OUT, &len) == PARAMCRYPT_OK);
}

/* --- OpenSSL --------------------------------------------------------------- */

static size_t ossl_b64_decode(const unsigned char *in, size_t len, unsigned char *out) {
    int n = EVP_DecodeBlock(out, in, (int)len);
    CHECK(n >= 0);
    if (len > 0 && in[len - 1] == '=') n--;
    if (len > 1 && in[len - 2] == '=') n--;
    return (size_t)n;
}
static void ossl_keygen(int bits) {
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    CHECK(k != NULL);
    EVP_PKEY_free(k);
}
static void ossl_wrap(void) {
    size_t len = sizeof OUT2;
    CHECK(EVP_PKEY_encrypt(ossl_enc_v15, OUT2, &len, (const unsigned char *)KEY_IV_TEXT, 65) == 1);
    EVP_EncodeBlock(OUT, OUT2, (int)len);
}
static void ossl_unwrap(int oaep) {
    size_t n = ossl_b64_decode(oaep ? ENC_KEY_OAEP : ENC_KEY_V15, oaep ? ENC_KEY_OAEP_LEN : ENC_KEY_V15_LEN, OUT2);
    size_t len = sizeof OUT;
    uint8_t key[16], iv[16];
    CHECK(EVP_PKEY_decrypt(oaep ? ossl_dec_oaep : ossl_dec_v15, OUT, &len, OUT2, n) == 1);
    CHECK(parse_key_iv(OUT, len, key, iv));
}
static void ossl_decrypt(int size) {
    size_t n = ossl_b64_decode(PARAM[size], PARAM_LEN[size], OUT2);
    int len1 = 0, len2 = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CHECK(ctx && EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, KEY, IV) == 1);
    CHECK(EVP_DecryptUpdate(ctx, OUT, &len1, OUT2, (int)n) == 1);
    CHECK(EVP_DecryptFinal_ex(ctx, OUT + len1, &len2) == 1);
    EVP_CIPHER_CTX_free(ctx);
    CHECK((size_t)(len1 + len2) == SIZES[size]);
}
static void ossl_encrypt(int size) {
    int len1 = 0, len2 = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CHECK(ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, KEY, IV) == 1);
    CHECK(EVP_EncryptUpdate(ctx, OUT2, &len1, PLAINTEXT, (int)SIZES[size]) == 1);
    CHECK(EVP_EncryptFinal_ex(ctx, OUT2 + len1, &len2) == 1);
    EVP_CIPHER_CTX_free(ctx);
    EVP_EncodeBlock(OUT, OUT2, len1 + len2);
}

/* --- mbedTLS --------------------------------------------------------------- */

static void mb_keygen(int bits) {
    mbedtls_rsa_context k;
    mbedtls_rsa_init(&k, MBEDTLS_RSA_PKCS_V15, 0);
    CHECK(mbedtls_rsa_gen_key(&k, mbedtls_ctr_drbg_random, &mb_drbg, (unsigned)bits, 65537) == 0);
    mbedtls_rsa_free(&k);
}
static void mb_wrap(void) {
    size_t len;
    mbedtls_rsa_set_padding(mb_rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    CHECK(mbedtls_rsa_pkcs1_encrypt(mb_rsa, mbedtls_ctr_drbg_random, &mb_drbg, MBEDTLS_RSA_PUBLIC, 65,
                                    (const unsigned char *)KEY_IV_TEXT, OUT2) == 0);
    CHECK(mbedtls_base64_encode(OUT, sizeof OUT, &len, OUT2, mbedtls_rsa_get_len(mb_rsa)) == 0);
}
static void mb_unwrap(int oaep) {
    size_t n, len;
    uint8_t key[16], iv[16];
    CHECK(mbedtls_base64_decode(OUT2, sizeof OUT2, &n, oaep ? ENC_KEY_OAEP : ENC_KEY_V15,
                                oaep ? ENC_KEY_OAEP_LEN : ENC_KEY_V15_LEN) == 0);
    if (oaep) {
        mbedtls_rsa_set_padding(mb_rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
        CHECK(mbedtls_rsa_rsaes_oaep_decrypt(mb_rsa, mbedtls_ctr_drbg_random, &mb_drbg, MBEDTLS_RSA_PRIVATE, NULL, 0,
                                             &len, OUT2, OUT, sizeof OUT) == 0);
    } else {
        mbedtls_rsa_set_padding(mb_rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
        CHECK(mbedtls_rsa_pkcs1_decrypt(mb_rsa, mbedtls_ctr_drbg_random, &mb_drbg, MBEDTLS_RSA_PRIVATE, &len, OUT2,
                                        OUT, sizeof OUT) == 0);
    }
    CHECK(parse_key_iv(OUT, len, key, iv));
}
static void mb_decrypt(int size) {
    size_t n;
    unsigned char iv[16];
    mbedtls_aes_context aes;
    CHECK(mbedtls_base64_decode(OUT2, sizeof OUT2, &n, PARAM[size], PARAM_LEN[size]) == 0);
    memcpy(iv, IV, 16);
    mbedtls_aes_init(&aes);
    CHECK(mbedtls_aes_setkey_dec(&aes, KEY, 128) == 0);
    CHECK(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, n, iv, OUT2, OUT) == 0);
    mbedtls_aes_free(&aes);
    unsigned pad = OUT[n - 1];
    CHECK(pad >= 1 && pad <= 16 && n - pad == SIZES[size]);
}
static void mb_encrypt(int size) {
    size_t n = (SIZES[size] / 16 + 1) * 16, len;
    unsigned char iv[16];
    mbedtls_aes_context aes;
    memcpy(OUT2, PLAINTEXT, SIZES[size]);
    memset(OUT2 + SIZES[size], (int)(n - SIZES[size]), n - SIZES[size]);
    memcpy(iv, IV, 16);
    mbedtls_aes_init(&aes);
    CHECK(mbedtls_aes_setkey_enc(&aes, KEY, 128) == 0);
    CHECK(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, n, iv, OUT2, OUT2) == 0);
    mbedtls_aes_free(&aes);
    CHECK(mbedtls_base64_encode(OUT, sizeof OUT, &len, OUT2, n) == 0);
}

/* --- measurement ----------------------------------------------------------- */

enum op { KEYGEN1024, KEYGEN2048, WRAP, UNWRAP_V15, UNWRAP_OAEP, DEC64, DEC1K, DEC64K, ENC64, ENC1K, ENC64K, OPS };

static const char *OP_NAMES[OPS] = {
    "key generation 1024 (ms)", "key generation 2048 (ms)", "wrap, PKCS#1 v1.5 (µs)",
    "unwrap, PKCS#1 v1.5 (µs)", "unwrap, OAEP-SHA-256 (µs)", "decrypt pipeline 64 B (MB/s)",
    "decrypt pipeline 1 KiB (MB/s)", "decrypt pipeline 64 KiB (MB/s)", "encrypt pipeline 64 B (MB/s)",
    "encrypt pipeline 1 KiB (MB/s)", "encrypt pipeline 64 KiB (MB/s)",
};

static int run(int lib, enum op op) {
    switch (op) {
    case KEYGEN1024:
        if (lib == 0) return 0; /* paramcrypt generates 2048 bits and more only */
        lib == 1 ? ossl_keygen(1024) : mb_keygen(1024);
        return 1;
    case KEYGEN2048: lib == 0 ? pc_keygen(2048) : lib == 1 ? ossl_keygen(2048) : mb_keygen(2048); return 1;
    case WRAP: lib == 0 ? pc_wrap() : lib == 1 ? ossl_wrap() : mb_wrap(); return 1;
    case UNWRAP_V15: case UNWRAP_OAEP: {
        int oaep = op == UNWRAP_OAEP;
        lib == 0 ? pc_unwrap(oaep) : lib == 1 ? ossl_unwrap(oaep) : mb_unwrap(oaep);
        return 1;
    }
    case DEC64: case DEC1K: case DEC64K: {
        int s = op - DEC64;
        lib == 0 ? pc_decrypt(s) : lib == 1 ? ossl_decrypt(s) : mb_decrypt(s);
        return 1;
    }
    default: {
        int s = op - ENC64;
        lib == 0 ? pc_encrypt(s) : lib == 1 ? ossl_encrypt(s) : mb_encrypt(s);
        return 1;
    }
    }
}

/* Seconds per operation over one timed batch of at least `budget` seconds. */
static double per_op(int lib, enum op op, double budget) {
    long n = 0;
    double start = now(), elapsed;
    do {
        if (!run(lib, op)) return -1;
        n++;
        elapsed = now() - start;
    } while (elapsed < budget || n < 2);
    return elapsed / (double)n;
}

static double figure(enum op op, double seconds) {
    if (op <= KEYGEN2048) return seconds * 1e3;
    if (op <= UNWRAP_OAEP) return seconds * 1e6;
    size_t bytes = SIZES[op >= ENC64 ? op - ENC64 : op - DEC64];
    return (double)bytes / seconds / 1e6;
}

static void setup(const char *key_file) {
    FILE *f = fopen(key_file, "rb");
    CHECK(f != NULL);
    static char pem[8192];
    size_t pem_len = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[pem_len] = 0;

    CHECK(paramcrypt_keypair_from_pem((const uint8_t *)pem, pem_len, &pc_key) == PARAMCRYPT_OK);
    CHECK(paramcrypt_keypair_public_key(pc_key, &pc_public) == PARAMCRYPT_OK);
    CHECK(paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &pc_session) == PARAMCRYPT_OK);

    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    ossl_key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    CHECK(ossl_key != NULL);
    ossl_dec_v15 = EVP_PKEY_CTX_new(ossl_key, NULL);
    CHECK(EVP_PKEY_decrypt_init(ossl_dec_v15) == 1 && EVP_PKEY_CTX_set_rsa_padding(ossl_dec_v15, RSA_PKCS1_PADDING) == 1);
    ossl_dec_oaep = EVP_PKEY_CTX_new(ossl_key, NULL);
    CHECK(EVP_PKEY_decrypt_init(ossl_dec_oaep) == 1 &&
          EVP_PKEY_CTX_set_rsa_padding(ossl_dec_oaep, RSA_PKCS1_OAEP_PADDING) == 1 &&
          EVP_PKEY_CTX_set_rsa_oaep_md(ossl_dec_oaep, EVP_sha256()) == 1 &&
          EVP_PKEY_CTX_set_rsa_mgf1_md(ossl_dec_oaep, EVP_sha256()) == 1);
    ossl_enc_v15 = EVP_PKEY_CTX_new(ossl_key, NULL);
    CHECK(EVP_PKEY_encrypt_init(ossl_enc_v15) == 1 && EVP_PKEY_CTX_set_rsa_padding(ossl_enc_v15, RSA_PKCS1_PADDING) == 1);

    mbedtls_entropy_init(&mb_entropy);
    mbedtls_ctr_drbg_init(&mb_drbg);
    CHECK(mbedtls_ctr_drbg_seed(&mb_drbg, mbedtls_entropy_func, &mb_entropy, (const unsigned char *)"bench", 5) == 0);
    mbedtls_pk_init(&mb_pk);
    CHECK(mbedtls_pk_parse_key(&mb_pk, (const unsigned char *)pem, pem_len + 1, NULL, 0) == 0);
    mb_rsa = mbedtls_pk_rsa(mb_pk);

    /* One common key for every library: the one paramcrypt's session holds,
       read back through the encKey it wraps (OpenSSL opens it). */
    size_t len;
    CHECK(paramcrypt_session_wrap(pc_session, pc_public, PARAMCRYPT_PADDING_PKCS1V15, ENC_KEY_V15, sizeof ENC_KEY_V15,
                                  &ENC_KEY_V15_LEN) == PARAMCRYPT_OK);
    CHECK(paramcrypt_session_wrap(pc_session, pc_public, PARAMCRYPT_PADDING_OAEP_SHA256, ENC_KEY_OAEP,
                                  sizeof ENC_KEY_OAEP, &ENC_KEY_OAEP_LEN) == PARAMCRYPT_OK);
    size_t n = ossl_b64_decode(ENC_KEY_V15, ENC_KEY_V15_LEN, OUT2);
    len = sizeof OUT;
    CHECK(EVP_PKEY_decrypt(ossl_dec_v15, OUT, &len, OUT2, n) == 1 && parse_key_iv(OUT, len, KEY, IV));
    memcpy(KEY_IV_TEXT, OUT, 65);
    for (size_t i = 0; i < sizeof PLAINTEXT; i++) PLAINTEXT[i] = (unsigned char)('a' + i % 26);
    for (int s = 0; s < 3; s++) {
        CHECK(paramcrypt_session_encrypt(pc_session, PLAINTEXT, SIZES[s], PARAM[s], sizeof PARAM[s], &PARAM_LEN[s]) ==
              PARAMCRYPT_OK);
    }
    /* Every library gets every operation right before anything is timed. */
    for (int lib = 0; lib < LIBS; lib++) {
        for (int op = WRAP; op < OPS; op++) run(lib, (enum op)op);
    }
}

int main(int argc, char **argv) {
    const char *key_file = argc > 1 ? argv[1] : "tests/data/keys/rsa2048_pkcs8.pem";
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (rounds < 1 || rounds > MAX_ROUNDS) die("ROUNDS must be 1 to 31");

    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    int pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    setup(key_file);

    char cpu[256] = "unknown CPU";
    FILE *info = fopen("/proc/cpuinfo", "r");
    if (info) {
        char line[512];
        while (fgets(line, sizeof line, info)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *colon = strchr(line, ':');
                if (colon) snprintf(cpu, sizeof cpu, "%s", colon + 2);
                cpu[strcspn(cpu, "\n")] = 0;
                break;
            }
        }
        fclose(info);
    }
    printf("paramcrypt %s (RSA on %s) vs %s vs mbedTLS %s; %s%s; median of %d alternating rounds\n\n",
           paramcrypt_version(), paramcrypt_rsa_backend(), OpenSSL_version(OPENSSL_VERSION), MBEDTLS_VERSION_STRING,
           cpu, pinned ? ", pinned to CPU 0" : "", rounds);
    printf("| operation | paramcrypt | OpenSSL | mbedTLS | paramcrypt / OpenSSL | target | met |\n");
    printf("| --- | ---: | ---: | ---: | ---: | --- | --- |\n");

    int met = 0, targets = 0;
    for (int op = 0; op < OPS; op++) {
        double samples[LIBS][MAX_ROUNDS], result[LIBS];
        int keygen = op <= KEYGEN2048;
        double budget = keygen ? 0.0 : 0.05;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < LIBS; i++) {
                int lib = (r + i) % LIBS; /* who goes first rotates */
                samples[lib][r] = per_op(lib, (enum op)op, budget);
            }
        }
        for (int lib = 0; lib < LIBS; lib++) {
            double m = median(samples[lib], rounds);
            result[lib] = m < 0 ? -1 : figure((enum op)op, m);
        }
        int throughput = op >= DEC64;
        /* The ratio as "how many times OpenSSL's cost": times for times,
           OpenSSL's throughput over ours for throughputs. */
        double ratio = result[0] < 0 ? -1 : throughput ? result[1] / result[0] : result[0] / result[1];
        const char *target = "";
        int ok = -1;
        switch (op) {
        case KEYGEN2048: target = "≤ 1× OpenSSL"; ok = ratio <= 1.0; break;
        case WRAP: target = "≤ 1.5×"; ok = ratio <= 1.5; break;
        case UNWRAP_V15: case UNWRAP_OAEP: target = "≤ 1.3×"; ok = ratio <= 1.3; break;
        case DEC64: target = "throughput ≥ OpenSSL's"; ok = ratio <= 1.0; break;
        case DEC1K: case DEC64K: target = "throughput ≥ 2× OpenSSL's"; ok = ratio <= 0.5; break;
        case ENC1K: case ENC64K: target = "throughput ≥ 1.2× OpenSSL's"; ok = ratio <= 1 / 1.2; break;
        default: break;
        }
        char mine[32] = "n/a", ratio_text[32] = "";
        if (result[0] >= 0) snprintf(mine, sizeof mine, "%.1f", result[0]);
        if (ratio >= 0) snprintf(ratio_text, sizeof ratio_text, "%.2f×", ratio);
        printf("| %s | %s | %.1f | %.1f | %s | %s | %s |\n", OP_NAMES[op], mine, result[1], result[2], ratio_text,
               target, ok < 0 ? "" : ok ? "yes" : "NO");
        if (ok >= 0) {
            targets++;
            met += ok;
        }
    }
    printf("\nRatios are paramcrypt's cost in OpenSSL's (below 1: paramcrypt is faster). They differ between\n"
           "CPUs: OpenSSL uses AVX-512 IFMA for RSA where the CPU has it.\n");
    printf("targets met: %d of %d\n", met, targets);
    return 0;
}
