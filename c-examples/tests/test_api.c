/* Every function of the C API, its error paths, and cross-checks against
 * OpenSSL-made key files and Python `cryptography`-made encKeys and values.
 *
 * Usage: test_api TESTS_DATA_DIR   (the repository's tests/data)
 */
#include <stdint.h>

#include "check.h"

static const char *data_dir;

static unsigned char *data_file(const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    return read_file(path, len);
}

static size_t trimmed_len(const unsigned char *text, size_t len) {
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    return len;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes lower-case hex ("-" is empty) into out; returns the byte count. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap) {
    size_t n = 0;
    if (strcmp(hex, "-") == 0) return 0;
    while (hex[0] && hex[1] && n < cap) {
        out[n++] = (unsigned char)(hex_value(hex[0]) * 16 + hex_value(hex[1]));
        hex += 2;
    }
    return n;
}

/* RNG callbacks for the *_with_rng functions. */
static int counter_rng(void *user, uint8_t *buf, size_t len) {
    uint8_t *next = user;
    size_t i;
    for (i = 0; i < len; i++) buf[i] = (*next)++;
    return 0;
}

static int failing_rng(void *user, uint8_t *buf, size_t len) {
    (void)user;
    (void)buf;
    (void)len;
    return -1;
}

/* A driver that reports success without writing, and one that writes zeros. */
static int silent_rng(void *user, uint8_t *buf, size_t len) {
    (void)user;
    (void)buf;
    (void)len;
    return 0;
}

static int zero_rng(void *user, uint8_t *buf, size_t len) {
    (void)user;
    memset(buf, 0, len);
    return 0;
}

/* A generator reseeded the same way for every call: a fine-looking answer
 * (no run of equal bytes), the same each time. */
static int reseeded_rng(void *user, uint8_t *buf, size_t len) {
    size_t i;
    (void)user;
    for (i = 0; i < len; i++) buf[i] = (uint8_t)(i * 37 + 11);
    return 0;
}

static int os_like_rng(void *user, uint8_t *buf, size_t len) {
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got;
    (void)user;
    if (!f) return -1;
    got = fread(buf, 1, len, f);
    fclose(f);
    return got == len ? 0 : -1;
}

static paramcrypt_keypair *load_key(const char *name) {
    size_t len;
    unsigned char *pem = data_file(name, &len);
    paramcrypt_keypair *key = NULL;
    CHECK_STATUS(paramcrypt_keypair_from_pem(pem, len, &key), PARAMCRYPT_OK);
    free(pem);
    return key;
}

/* The 1024-bit fixture stands for a legacy peer's key: loaded with the
 * explicit opt-in. */
static paramcrypt_keypair *load_legacy_key(const char *name) {
    size_t len;
    unsigned char *pem = data_file(name, &len);
    paramcrypt_keypair *key = NULL;
    CHECK_STATUS(paramcrypt_keypair_from_pem_with_sizes(pem, len, PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024, &key),
                 PARAMCRYPT_OK);
    free(pem);
    return key;
}

/* 2048 bits is the floor for loading; 1024 only through the opt-in. */
static void test_key_size_floor(void) {
    size_t pem_len, der_len = 0, b64_len = 0;
    unsigned char *pem = data_file("keys/rsa1024_pkcs8.pem", &pem_len);
    unsigned char der[2048], b64[1024];
    paramcrypt_keypair *key = NULL, *again = NULL;
    paramcrypt_public_key *public_key = NULL, *loaded = NULL;
    CHECK_STATUS(paramcrypt_keypair_from_pem(pem, pem_len, &key), PARAMCRYPT_ERR_INVALID_KEY);
    CHECK(key == NULL);
    CHECK_STATUS(paramcrypt_keypair_from_pem_with_sizes(pem, pem_len, 7, &key), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_keypair_from_pem_with_sizes(pem, pem_len, PARAMCRYPT_KEY_SIZES_MODERN, &key),
                 PARAMCRYPT_ERR_INVALID_KEY);
    key = load_legacy_key("keys/rsa1024_pkcs8.pem");
    CHECK(paramcrypt_keypair_bits(key) == 1024);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_der(key, der, sizeof der, &der_len), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_keypair_from_pkcs8_der(der, der_len, &again), PARAMCRYPT_ERR_INVALID_KEY);
    CHECK_STATUS(paramcrypt_keypair_from_pkcs8_der_with_sizes(der, der_len, PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024,
                                                              &again),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_to_base64(public_key, b64, sizeof b64, &b64_len), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_from_base64(b64, b64_len, &loaded), PARAMCRYPT_ERR_INVALID_KEY);
    CHECK_STATUS(paramcrypt_public_key_from_base64_with_sizes(b64, b64_len, PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024,
                                                              &loaded),
                 PARAMCRYPT_OK);
    CHECK(paramcrypt_public_key_bits(loaded) == 1024);
    paramcrypt_public_key_free(loaded);
    loaded = NULL;
    CHECK_STATUS(paramcrypt_public_key_to_der(public_key, der, sizeof der, &der_len), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_from_der(der, der_len, &loaded), PARAMCRYPT_ERR_INVALID_KEY);
    CHECK_STATUS(paramcrypt_public_key_from_der_with_sizes(der, der_len, PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024,
                                                           &loaded),
                 PARAMCRYPT_OK);
    paramcrypt_public_key_free(loaded);
    loaded = NULL;
    CHECK_STATUS(paramcrypt_public_key_to_pem(public_key, b64, sizeof b64, &b64_len), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_from_pem(b64, b64_len, &loaded), PARAMCRYPT_ERR_INVALID_KEY);
    CHECK_STATUS(paramcrypt_public_key_from_pem_with_sizes(b64, b64_len, PARAMCRYPT_KEY_SIZES_ALLOW_LEGACY_1024,
                                                           &loaded),
                 PARAMCRYPT_OK);
    paramcrypt_public_key_free(loaded);
    paramcrypt_public_key_free(public_key);
    paramcrypt_keypair_free(again);
    paramcrypt_keypair_free(key);
    free(pem);
}

static void test_version_and_messages(void) {
    const paramcrypt_status codes[] = {
        PARAMCRYPT_OK, PARAMCRYPT_ERR_NULL_ARGUMENT, PARAMCRYPT_ERR_INVALID_ARGUMENT,
        PARAMCRYPT_ERR_BUFFER_TOO_SMALL, PARAMCRYPT_ERR_BUSY, PARAMCRYPT_ERR_INVALID_HANDLE,
        PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE,
        PARAMCRYPT_ERR_INVALID_KEY, PARAMCRYPT_ERR_RNG, PARAMCRYPT_ERR_KEY_TOO_SMALL,
        PARAMCRYPT_ERR_PANIC, PARAMCRYPT_ERR_ENCRYPTION_FAILED};
    size_t i;
    CHECK(strcmp(paramcrypt_version(), PARAMCRYPT_VERSION) == 0);
    /* Cross builds (tests/cross.sh) say which RSA backend they must have. */
    if (getenv("PARAMCRYPT_EXPECT_BACKEND") != NULL)
        CHECK(strcmp(paramcrypt_rsa_backend(), getenv("PARAMCRYPT_EXPECT_BACKEND")) == 0);
    CHECK(strcmp(paramcrypt_status_message(PARAMCRYPT_ERR_ENCRYPTION_FAILED),
                 PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE) == 0);
    CHECK(PARAMCRYPT_ERR_ENCRYPTION_FAILED == PARAMCRYPT_ENCRYPTION_FAILED_CODE);
    CHECK(strcmp(paramcrypt_status_message(12345), "unknown status") == 0);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *message = paramcrypt_status_message(codes[i]);
        CHECK(message != NULL && strlen(message) > 0 && strcmp(message, "unknown status") != 0);
    }
}

static void test_key_files_match_openssl(void) {
    size_t pem_len, der_len, pkcs1_len, b64_len, pub_pem_len, out_len = 0;
    unsigned char *pem = data_file("keys/rsa2048_pkcs8.pem", &pem_len);
    unsigned char *der = data_file("keys/rsa2048_pkcs8.der", &der_len);
    unsigned char *pkcs1 = data_file("keys/rsa2048_pkcs1.pem", &pkcs1_len);
    unsigned char *b64 = data_file("keys/rsa2048_public.b64", &b64_len);
    unsigned char *pub_pem = data_file("keys/rsa2048_public.pem", &pub_pem_len);
    unsigned char buf[4096];
    paramcrypt_keypair *from_pem = NULL, *from_der = NULL, *from_pkcs1 = NULL;
    paramcrypt_public_key *public_key = NULL, *from_b64 = NULL, *from_pub_pem = NULL, *from_pub_der = NULL;

    CHECK_STATUS(paramcrypt_keypair_from_pem(pem, pem_len, &from_pem), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_keypair_from_pkcs8_der(der, der_len, &from_der), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_keypair_from_pem(pkcs1, pkcs1_len, &from_pkcs1), PARAMCRYPT_OK);
    CHECK(paramcrypt_keypair_bits(from_pem) == 2048);
    CHECK(paramcrypt_keypair_bits(from_der) == 2048);
    CHECK(paramcrypt_keypair_bits(from_pkcs1) == 2048);

    /* getPublicKey value, byte for byte what OpenSSL computed. */
    CHECK_STATUS(paramcrypt_keypair_public_key(from_pem, &public_key), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_to_base64(public_key, buf, sizeof buf, &out_len), PARAMCRYPT_OK);
    CHECK(out_len == trimmed_len(b64, b64_len) && memcmp(buf, b64, out_len) == 0);
    CHECK(out_len == 392 && memcmp(buf, "MIIBIjANBgkqhkiG9w0BAQEFAAOC", 28) == 0);
    CHECK_STATUS(paramcrypt_public_key_to_pem(public_key, buf, sizeof buf, &out_len), PARAMCRYPT_OK);
    CHECK(out_len == pub_pem_len && memcmp(buf, pub_pem, out_len) == 0);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_der(from_pkcs1, buf, sizeof buf, &out_len), PARAMCRYPT_OK);
    CHECK(out_len == der_len && memcmp(buf, der, der_len) == 0);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_pem(from_der, buf, sizeof buf, &out_len), PARAMCRYPT_OK);
    CHECK(out_len == pem_len && memcmp(buf, pem, pem_len) == 0);

    /* Public key imports agree. */
    CHECK_STATUS(paramcrypt_public_key_from_base64(b64, trimmed_len(b64, b64_len), &from_b64), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_from_pem(pub_pem, pub_pem_len, &from_pub_pem), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_to_der(from_b64, buf, sizeof buf, &out_len), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_from_der(buf, out_len, &from_pub_der), PARAMCRYPT_OK);
    CHECK(paramcrypt_public_key_bits(from_b64) == 2048);
    CHECK(paramcrypt_public_key_bits(from_pub_pem) == 2048);
    CHECK(paramcrypt_public_key_bits(from_pub_der) == 2048);
    CHECK(paramcrypt_public_key_wrapped_len(from_pub_der) == 344);

    paramcrypt_public_key_free(from_pub_der);
    paramcrypt_public_key_free(from_pub_pem);
    paramcrypt_public_key_free(from_b64);
    paramcrypt_public_key_free(public_key);
    paramcrypt_keypair_free(from_pkcs1);
    paramcrypt_keypair_free(from_der);
    paramcrypt_keypair_free(from_pem);
    free(pub_pem);
    free(b64);
    free(pkcs1);
    free(der);
    free(pem);
}

static void test_output_buffers(const paramcrypt_keypair *key) {
    unsigned char buf[4096];
    size_t out_len = 0, needed;
    paramcrypt_public_key *public_key = NULL;
    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);

    /* Size query: out may be NULL with out_cap 0. */
    CHECK_STATUS(paramcrypt_public_key_to_base64(public_key, NULL, 0, &out_len), PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len == 392);
    needed = 0;
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_pem(key, NULL, 0, &needed), PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 1600 && needed < 1800);

    /* One byte short: nothing written, size reported. */
    memset(buf, 0xAA, sizeof buf);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_pem(key, buf, needed - 1, &out_len), PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len == needed && buf[0] == 0xAA && buf[needed - 2] == 0xAA);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_pem(key, buf, needed, &out_len), PARAMCRYPT_OK);
    CHECK(out_len == needed && memcmp(buf, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_der(key, buf, 10, &out_len), PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len > 1000);
    CHECK_STATUS(paramcrypt_public_key_to_der(public_key, buf, 10, &out_len), PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len == 294);
    CHECK_STATUS(paramcrypt_public_key_to_pem(public_key, buf, 10, &out_len), PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len == 451);
    paramcrypt_public_key_free(public_key);
}

static void test_generation(void) {
    paramcrypt_keypair *key = NULL;
    uint8_t next = 0;
    /* 1024 among them: new keys are at least 2048 bits. */
    const size_t bad_sizes[] = {0, 512, 1023, 1024, 2047, 2049, 8192, (size_t)-1};
    size_t i;

    CHECK_STATUS(paramcrypt_keypair_generate(2048, &key), PARAMCRYPT_OK);
    CHECK(paramcrypt_keypair_bits(key) == 2048);
    paramcrypt_keypair_free(key);
    key = NULL;
    for (i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        CHECK_STATUS(paramcrypt_keypair_generate(bad_sizes[i], &key), PARAMCRYPT_ERR_UNSUPPORTED_KEY_SIZE);
        CHECK(key == NULL);
    }
    CHECK_STATUS(paramcrypt_keypair_generate_with_rng(2048, os_like_rng, NULL, &key), PARAMCRYPT_OK);
    CHECK(paramcrypt_keypair_bits(key) == 2048);
    paramcrypt_keypair_free(key);
    key = NULL;
    CHECK_STATUS(paramcrypt_keypair_generate_with_rng(2048, failing_rng, NULL, &key), PARAMCRYPT_ERR_RNG);
    CHECK_STATUS(paramcrypt_keypair_generate_with_rng(2048, NULL, &next, &key), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK(key == NULL);
}

static void round_trip(const paramcrypt_keypair *key, uint32_t padding, uint32_t mode) {
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_session *client = NULL, *server = NULL;
    paramcrypt_mode got_mode = 99;
    unsigned char enc_key[1024], value[256], reply[256], plain[256];
    size_t enc_key_len = 0, value_len = 0, reply_len = 0, plain_len = 0;
    const char *secret = "correct horse battery staple";

    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_new(mode, &client), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_wrap(client, public_key, padding, enc_key, sizeof enc_key, &enc_key_len),
                 PARAMCRYPT_OK);
    CHECK(enc_key_len == paramcrypt_public_key_wrapped_len(public_key));
    CHECK_STATUS(paramcrypt_keypair_unwrap(key, enc_key, enc_key_len, padding, &server), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_mode(server, &got_mode), PARAMCRYPT_OK);
    CHECK(got_mode == mode);

    CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)secret, strlen(secret), value, sizeof value,
                                            &value_len),
                 PARAMCRYPT_OK);
    CHECK(value_len == paramcrypt_encrypted_len(mode, strlen(secret)));
    CHECK_STATUS(paramcrypt_session_decrypt(server, value, value_len, plain, sizeof plain, &plain_len),
                 PARAMCRYPT_OK);
    CHECK(plain_len == strlen(secret) && memcmp(plain, secret, plain_len) == 0);

    /* getSecretData direction, with the RNG-callback variant. */
    CHECK_STATUS(paramcrypt_session_encrypt_with_rng(server, (const uint8_t *)"ok", 2, os_like_rng, NULL, reply,
                                                     sizeof reply, &reply_len),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_decrypt(client, reply, reply_len, plain, sizeof plain, &plain_len),
                 PARAMCRYPT_OK);
    CHECK(plain_len == 2 && memcmp(plain, "ok", 2) == 0);

    /* The server is configured for one padding: another fails uniformly. (An
     * OAEP setting, which rejects explicitly: a PKCS#1 v1.5 setting turns any
     * ciphertext into a synthetic plaintext that, about once in 245 tries, is
     * 16 bytes long and so opens as a per-message key; see the README.) */
    paramcrypt_session_free(server);
    server = NULL;
    CHECK_STATUS(paramcrypt_keypair_unwrap(key, enc_key, enc_key_len,
                                           padding == PARAMCRYPT_PADDING_OAEP_SHA1 ? PARAMCRYPT_PADDING_OAEP_SHA256
                                                                                   : PARAMCRYPT_PADDING_OAEP_SHA1,
                                           &server),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK(server == NULL);
    CHECK_STATUS(paramcrypt_keypair_unwrap_with_rng(key, enc_key, enc_key_len, padding, os_like_rng, NULL, &server),
                 PARAMCRYPT_OK);
    paramcrypt_session_free(server);
    paramcrypt_session_free(client);
    paramcrypt_public_key_free(public_key);
}

static void test_round_trips(const paramcrypt_keypair *key) {
    uint32_t padding, mode;
    for (padding = PARAMCRYPT_PADDING_PKCS1V15; padding <= PARAMCRYPT_PADDING_OAEP_SHA256; padding++)
        for (mode = PARAMCRYPT_MODE_KEY_IV; mode <= PARAMCRYPT_MODE_PER_MESSAGE_IV; mode++) round_trip(key, padding, mode);
}

/* An RNG that fails silently must not pass as success: before the health
 * checks, these made sessions with an all-zero key and IV. */
static void test_broken_rng_is_an_error(const paramcrypt_keypair *key) {
    paramcrypt_session *session = NULL;
    paramcrypt_keypair *generated = NULL;
    paramcrypt_server *server = NULL;
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, silent_rng, NULL, &session),
                 PARAMCRYPT_ERR_RNG);
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_PER_MESSAGE_IV, zero_rng, NULL, &session),
                 PARAMCRYPT_ERR_RNG);
    CHECK(session == NULL);
    CHECK_STATUS(paramcrypt_keypair_generate_with_rng(2048, silent_rng, NULL, &generated), PARAMCRYPT_ERR_RNG);
    CHECK(generated == NULL);
    paramcrypt_server_config config;
    CHECK_STATUS(paramcrypt_server_config_init(PARAMCRYPT_SETTING_FIRMWARE, &config), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_server_new_with_rng(key, &config, zero_rng, NULL, &server), PARAMCRYPT_ERR_RNG);
    CHECK(server == NULL);

    /* The same answer on every call. Before the check across calls, the
     * second session had the first one's key and IV. */
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, reseeded_rng, NULL, &session), PARAMCRYPT_OK);
    paramcrypt_session_free(session);
    session = NULL;
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, reseeded_rng, NULL, &session),
                 PARAMCRYPT_ERR_RNG);
    CHECK(session == NULL);
    /* Through another user pointer (another "source") the answer is still
     * one the library has just seen. */
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, reseeded_rng, &server, &session),
                 PARAMCRYPT_ERR_RNG);
    CHECK(session == NULL);
}

static void test_rng_callback_makes_the_session(void) {
    /* Key 00..0f and IV 10..1f from a counting RNG: the value must equal what
     * Python cryptography computed for that key and IV (last fixture row). */
    size_t tsv_len, value_len = 0;
    unsigned char *tsv = data_file("interop/from_cryptography.tsv", &tsv_len);
    char *row = strstr((char *)tsv, "-\tcounter-rng\t");
    char *expected;
    unsigned char value[64];
    uint8_t next = 0;
    paramcrypt_session *session = NULL;
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_keypair *key = load_legacy_key("keys/rsa1024_pkcs8.pem");
    unsigned char enc_key[512];
    size_t enc_key_len = 0;

    CHECK(row != NULL);
    if (!row) return;
    expected = strrchr(row, '\t') + 1;
    expected[strcspn(expected, "\r\n")] = 0;
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, counter_rng, &next, &session), PARAMCRYPT_OK);
    CHECK(next == 64); /* one call of 64 bytes: key, IV, and 32 unused (wiped) */
    CHECK_STATUS(paramcrypt_session_encrypt(session, (const uint8_t *)"hello", 5, value, sizeof value, &value_len),
                 PARAMCRYPT_OK);
    CHECK(value_len == strlen(expected) && memcmp(value, expected, value_len) == 0);

    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_wrap_with_rng(session, public_key, PARAMCRYPT_PADDING_PKCS1V15, failing_rng, NULL,
                                                  enc_key, sizeof enc_key, &enc_key_len),
                 PARAMCRYPT_ERR_RNG);
    CHECK_STATUS(paramcrypt_session_wrap_with_rng(session, public_key, PARAMCRYPT_PADDING_PKCS1V15, os_like_rng, NULL,
                                                  enc_key, sizeof enc_key, &enc_key_len),
                 PARAMCRYPT_OK);
    paramcrypt_session_free(session);
    session = NULL;
    /* Blinding asks the callback on the rsa-crate and compact backends only; AWS-LC
       blinds with its own generator (paramcrypt_rsa_backend says which). */
    if (strcmp(paramcrypt_rsa_backend(), "aws-lc") == 0) {
        CHECK_STATUS(paramcrypt_keypair_unwrap_with_rng(key, enc_key, enc_key_len, PARAMCRYPT_PADDING_PKCS1V15,
                                                        failing_rng, NULL, &session),
                     PARAMCRYPT_OK);
        paramcrypt_session_free(session);
        session = NULL;
        /* Also for the ciphertexts 0 and 1, which AWS-LC refuses: before,
           they fell back to the rsa-crate operation, which called the
           callback (and a failing one turned 40002 into ERR_RNG). */
        {
            char zero_or_one[172];
            memset(zero_or_one, 'A', 168);
            memcpy(zero_or_one + 168, "AAA=", 4);
            CHECK_STATUS(paramcrypt_keypair_unwrap_with_rng(key, (const uint8_t *)zero_or_one, sizeof zero_or_one,
                                                            PARAMCRYPT_PADDING_PKCS1V15, failing_rng, NULL, &session),
                         PARAMCRYPT_ERR_ENCRYPTION_FAILED);
            memcpy(zero_or_one + 168, "AAE=", 4);
            CHECK_STATUS(paramcrypt_keypair_unwrap_with_rng(key, (const uint8_t *)zero_or_one, sizeof zero_or_one,
                                                            PARAMCRYPT_PADDING_OAEP_SHA256, failing_rng, NULL,
                                                            &session),
                         PARAMCRYPT_ERR_ENCRYPTION_FAILED);
            CHECK(session == NULL);
        }
    } else {
        CHECK(strcmp(paramcrypt_rsa_backend(), "rsa-crate") == 0);
        CHECK_STATUS(paramcrypt_keypair_unwrap_with_rng(key, enc_key, enc_key_len, PARAMCRYPT_PADDING_PKCS1V15,
                                                        failing_rng, NULL, &session),
                     PARAMCRYPT_ERR_RNG);
    }
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, failing_rng, NULL, &session),
                 PARAMCRYPT_ERR_RNG);
    CHECK(session == NULL);
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_PER_MESSAGE_IV, os_like_rng, NULL, &session),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_encrypt_with_rng(session, (const uint8_t *)"x", 1, failing_rng, NULL, value,
                                                     sizeof value, &value_len),
                 PARAMCRYPT_ERR_RNG);
    paramcrypt_session_free(session);
    paramcrypt_public_key_free(public_key);
    paramcrypt_keypair_free(key);
    free(tsv);
}

/* Opens every encKey and value of a fixture TSV; in key:iv mode also checks
 * that encrypting the plaintext reproduces the value byte for byte. */
static void check_fixture(const paramcrypt_keypair *key, const char *name, int expect_rows) {
    size_t tsv_len;
    unsigned char *tsv = data_file(name, &tsv_len);
    char *line, *save = NULL;
    int rows = 0;
    for (line = strtok_r((char *)tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *fields[7], *field_save = NULL, *field;
        int n = 0;
        uint32_t padding;
        unsigned char plaintext[2048], opened[2048], again[4096];
        size_t plaintext_len, opened_len = 0, again_len = 0;
        paramcrypt_session *session = NULL;
        for (field = strtok_r(line, "\t", &field_save); field && n < 7; field = strtok_r(NULL, "\t", &field_save))
            fields[n++] = field;
        CHECK(n == 7);
        if (n != 7 || strcmp(fields[1], "counter-rng") == 0) continue;
        padding = strcmp(fields[0], "pkcs1v15") == 0     ? PARAMCRYPT_PADDING_PKCS1V15
                  : strcmp(fields[0], "oaep-sha1") == 0 ? PARAMCRYPT_PADDING_OAEP_SHA1
                                                        : PARAMCRYPT_PADDING_OAEP_SHA256;
        plaintext_len = unhex(fields[5], plaintext, sizeof plaintext);
        CHECK_STATUS(paramcrypt_keypair_unwrap(key, (const uint8_t *)fields[4], strlen(fields[4]), padding, &session),
                     PARAMCRYPT_OK);
        CHECK_STATUS(paramcrypt_session_decrypt(session, (const uint8_t *)fields[6], strlen(fields[6]), opened,
                                                sizeof opened, &opened_len),
                     PARAMCRYPT_OK);
        CHECK(opened_len == plaintext_len && memcmp(opened, plaintext, plaintext_len) == 0);
        if (strncmp(fields[1], "key-iv", 6) == 0) {
            CHECK_STATUS(paramcrypt_session_encrypt(session, plaintext, plaintext_len, again, sizeof again, &again_len),
                         PARAMCRYPT_OK);
            CHECK(again_len == strlen(fields[6]) && memcmp(again, fields[6], again_len) == 0);
        }
        paramcrypt_session_free(session);
        rows++;
    }
    CHECK(rows == expect_rows);
    free(tsv);
}

static void test_bad_input(const paramcrypt_keypair *key) {
    paramcrypt_session *session = NULL, *client = NULL;
    paramcrypt_public_key *public_key = NULL, *small_public = NULL;
    paramcrypt_keypair *small_key = load_legacy_key("keys/rsa1024_pkcs8.pem");
    unsigned char out[4096];
    size_t out_len = 0, i, big_len = 1 << 20;
    unsigned char *big = malloc(big_len);
    const char *bad_enc_keys[] = {"", " ", "!!!!", "AAAA", "\r\n", "hCkxUu4W", "AAAAAAAAAAAAAAAAAAAAAA=="};
    const char *bad_values[] = {"", "%%%%", "AAAA", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA==",
                                "AAAAAAAAAAAAAAAAAAAAAAA=", "G9KgQDustrxplKFcy9fnVQ== "};
    const unsigned char non_utf8[] = {0xff, 0xfe, 0xc3, 0x28};

    for (i = 0; i < sizeof bad_enc_keys / sizeof bad_enc_keys[0]; i++)
        CHECK_STATUS(paramcrypt_keypair_unwrap(key, (const uint8_t *)bad_enc_keys[i], strlen(bad_enc_keys[i]),
                                               PARAMCRYPT_PADDING_PKCS1V15, &session),
                     PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    memset(big, 'A', big_len);
    CHECK_STATUS(paramcrypt_keypair_unwrap(key, big, big_len, PARAMCRYPT_PADDING_PKCS1V15, &session),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK_STATUS(paramcrypt_keypair_unwrap(key, non_utf8, sizeof non_utf8, PARAMCRYPT_PADDING_PKCS1V15, &session),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK(session == NULL);

    /* A fixed key and IV (from a counting RNG), so that every outcome below is
     * the same on every run: with a random key, a garbage block has a valid
     * PKCS#7 padding about once in 256 tries. (Not from 0: the library
     * refuses an RNG answer it has seen, and test_rng_callback_makes_the_session
     * counted from 0.) */
    {
        uint8_t next = 200;
        CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, counter_rng, &next, &client),
                     PARAMCRYPT_OK);
    }
    for (i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        CHECK_STATUS(paramcrypt_session_decrypt(client, (const uint8_t *)bad_values[i], strlen(bad_values[i]), out,
                                                sizeof out, &out_len),
                     PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    {
        unsigned char *big_out = malloc(big_len);
        CHECK_STATUS(paramcrypt_session_decrypt(client, big, big_len, big_out, big_len, &out_len),
                     PARAMCRYPT_ERR_ENCRYPTION_FAILED);
        free(big_out);
    }

    /* Decrypt buffer size is checked from the public length, before decrypting. */
    CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)"hello", 5, out, sizeof out, &out_len),
                 PARAMCRYPT_OK);
    {
        unsigned char value[64], plain[64];
        size_t value_len = out_len, plain_len = 0;
        memcpy(value, out, value_len);
        CHECK_STATUS(paramcrypt_session_decrypt(client, value, value_len, plain, 14, &plain_len),
                     PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
        CHECK(plain_len == 15);
        CHECK(paramcrypt_decrypted_max_len(value_len) >= 15);
        CHECK_STATUS(paramcrypt_session_decrypt(client, value, value_len, plain, 15, &plain_len), PARAMCRYPT_OK);
        CHECK(plain_len == 5 && memcmp(plain, "hello", 5) == 0);
        CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)"hello", 5, value, 23, &value_len),
                     PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
        CHECK(value_len == 24);
    }

    /* Unknown enum values from C are refused, never trusted. */
    CHECK_STATUS(paramcrypt_session_new(2, &session), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_session_new(0xFFFFFFFFu, &session), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK(paramcrypt_encrypted_len(7, 5) == 0);
    CHECK(paramcrypt_encrypted_len(PARAMCRYPT_MODE_KEY_IV, (size_t)-1) == 0);
    CHECK(paramcrypt_encrypted_len(PARAMCRYPT_MODE_KEY_IV, 0) == 24);
    CHECK(paramcrypt_encrypted_len(PARAMCRYPT_MODE_PER_MESSAGE_IV, 16) == 64);
    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_wrap(client, public_key, 3, out, sizeof out, &out_len),
                 PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_keypair_unwrap(key, (const uint8_t *)"AAAA", 4, 99, &session),
                 PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_session_wrap(client, public_key, PARAMCRYPT_PADDING_PKCS1V15, out, 343, &out_len),
                 PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len == 344);

    /* OAEP-SHA-256 cannot carry the 65-byte key:iv text under 1024 bits. */
    CHECK_STATUS(paramcrypt_keypair_public_key(small_key, &small_public), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_wrap(client, small_public, PARAMCRYPT_PADDING_OAEP_SHA256, out, sizeof out,
                                         &out_len),
                 PARAMCRYPT_ERR_KEY_TOO_SMALL);

    /* Malformed keys. */
    {
        paramcrypt_keypair *bad = NULL;
        paramcrypt_public_key *bad_public = NULL;
        size_t len;
        unsigned char *ec = data_file("keys/bad_ec_p256_pkcs8.pem", &len);
        CHECK_STATUS(paramcrypt_keypair_from_pem(ec, len, &bad), PARAMCRYPT_ERR_INVALID_KEY);
        free(ec);
        ec = data_file("keys/bad_rsa512_pkcs8.pem", &len);
        CHECK_STATUS(paramcrypt_keypair_from_pem(ec, len, &bad), PARAMCRYPT_ERR_INVALID_KEY);
        free(ec);
        CHECK_STATUS(paramcrypt_keypair_from_pem((const uint8_t *)"garbage", 7, &bad), PARAMCRYPT_ERR_INVALID_KEY);
        CHECK_STATUS(paramcrypt_keypair_from_pem(non_utf8, sizeof non_utf8, &bad), PARAMCRYPT_ERR_INVALID_KEY);
        CHECK_STATUS(paramcrypt_keypair_from_pkcs8_der(non_utf8, sizeof non_utf8, &bad), PARAMCRYPT_ERR_INVALID_KEY);
        CHECK_STATUS(paramcrypt_keypair_from_pem(NULL, 0, &bad), PARAMCRYPT_ERR_INVALID_KEY);
        CHECK_STATUS(paramcrypt_public_key_from_base64((const uint8_t *)"AAAA", 4, &bad_public),
                     PARAMCRYPT_ERR_INVALID_KEY);
        CHECK_STATUS(paramcrypt_public_key_from_pem((const uint8_t *)"x", 1, &bad_public), PARAMCRYPT_ERR_INVALID_KEY);
        CHECK_STATUS(paramcrypt_public_key_from_der(non_utf8, sizeof non_utf8, &bad_public),
                     PARAMCRYPT_ERR_INVALID_KEY);
        CHECK(bad == NULL && bad_public == NULL);
    }

    paramcrypt_public_key_free(small_public);
    paramcrypt_keypair_free(small_key);
    paramcrypt_public_key_free(public_key);
    paramcrypt_session_free(client);
    free(big);
}

static void test_null_arguments(const paramcrypt_keypair *key) {
    const paramcrypt_status NUL = PARAMCRYPT_ERR_NULL_ARGUMENT;
    paramcrypt_keypair *kp = NULL;
    paramcrypt_public_key *pk = NULL;
    paramcrypt_session *s = NULL, *client = NULL;
    paramcrypt_mode mode;
    unsigned char out[1024];
    size_t len = 0;

    CHECK_STATUS(paramcrypt_keypair_public_key(key, &pk), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &client), PARAMCRYPT_OK);

    CHECK_STATUS(paramcrypt_keypair_generate(2048, NULL), NUL);
    CHECK_STATUS(paramcrypt_keypair_generate_with_rng(2048, os_like_rng, NULL, NULL), NUL);
    CHECK_STATUS(paramcrypt_keypair_from_pem(NULL, 5, &kp), NUL);
    CHECK_STATUS(paramcrypt_keypair_from_pem((const uint8_t *)"x", 1, NULL), NUL);
    CHECK_STATUS(paramcrypt_keypair_from_pkcs8_der(NULL, 5, &kp), NUL);
    CHECK_STATUS(paramcrypt_keypair_from_pkcs8_der((const uint8_t *)"x", 1, NULL), NUL);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_pem(NULL, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_pem(key, out, sizeof out, NULL), NUL);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_pem(key, NULL, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_der(NULL, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_keypair_to_pkcs8_der(key, out, sizeof out, NULL), NUL);
    CHECK(paramcrypt_keypair_bits(NULL) == 0);
    CHECK_STATUS(paramcrypt_keypair_public_key(NULL, &pk), NUL);
    CHECK_STATUS(paramcrypt_keypair_public_key(key, NULL), NUL);
    CHECK_STATUS(paramcrypt_public_key_from_base64(NULL, 4, &pk), NUL);
    CHECK_STATUS(paramcrypt_public_key_from_base64((const uint8_t *)"AAAA", 4, NULL), NUL);
    CHECK_STATUS(paramcrypt_public_key_from_pem(NULL, 4, &pk), NUL);
    CHECK_STATUS(paramcrypt_public_key_from_der(NULL, 4, &pk), NUL);
    CHECK_STATUS(paramcrypt_public_key_to_base64(NULL, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_public_key_to_base64(pk, out, sizeof out, NULL), NUL);
    CHECK_STATUS(paramcrypt_public_key_to_pem(NULL, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_public_key_to_der(NULL, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_public_key_to_der(pk, NULL, 10, &len), NUL);
    CHECK(paramcrypt_public_key_bits(NULL) == 0);
    CHECK(paramcrypt_public_key_wrapped_len(NULL) == 0);
    CHECK_STATUS(paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, NULL), NUL);
    CHECK_STATUS(paramcrypt_session_new_with_rng(PARAMCRYPT_MODE_KEY_IV, NULL, NULL, &s), NUL);
    CHECK_STATUS(paramcrypt_session_mode(NULL, &mode), NUL);
    CHECK_STATUS(paramcrypt_session_mode(client, NULL), NUL);
    CHECK_STATUS(paramcrypt_session_wrap(NULL, pk, 0, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_session_wrap(client, NULL, 0, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_session_wrap(client, pk, 0, out, sizeof out, NULL), NUL);
    CHECK_STATUS(paramcrypt_session_wrap_with_rng(client, pk, 0, NULL, NULL, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_keypair_unwrap(NULL, (const uint8_t *)"AAAA", 4, 0, &s), NUL);
    CHECK_STATUS(paramcrypt_keypair_unwrap(key, NULL, 4, 0, &s), NUL);
    CHECK_STATUS(paramcrypt_keypair_unwrap(key, (const uint8_t *)"AAAA", 4, 0, NULL), NUL);
    CHECK_STATUS(paramcrypt_keypair_unwrap_with_rng(key, (const uint8_t *)"AAAA", 4, 0, NULL, NULL, &s), NUL);
    CHECK_STATUS(paramcrypt_session_encrypt(NULL, (const uint8_t *)"x", 1, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_session_encrypt(client, NULL, 1, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)"x", 1, NULL, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)"x", 1, out, sizeof out, NULL), NUL);
    CHECK_STATUS(paramcrypt_session_encrypt_with_rng(client, (const uint8_t *)"x", 1, NULL, NULL, out, sizeof out, &len),
                 NUL);
    CHECK_STATUS(paramcrypt_session_decrypt(NULL, (const uint8_t *)"AAAA", 4, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_session_decrypt(client, NULL, 4, out, sizeof out, &len), NUL);
    CHECK_STATUS(paramcrypt_session_decrypt(client, (const uint8_t *)"AAAA", 4, out, sizeof out, NULL), NUL);
    CHECK(kp == NULL && s == NULL);

    /* NULL with length 0 is an empty input: an empty secret is valid. */
    CHECK_STATUS(paramcrypt_session_encrypt(client, NULL, 0, out, sizeof out, &len), PARAMCRYPT_OK);
    CHECK(len == 24);

    /* *_free(NULL) is a no-op. */
    paramcrypt_keypair_free(NULL);
    paramcrypt_public_key_free(NULL);
    paramcrypt_session_free(NULL);

    paramcrypt_session_free(client);
    paramcrypt_public_key_free(pk);
}

/* Misuse the library can catch: handles of the wrong type, and output
 * buffers that overlap the input (undefined behaviour before). */
static void test_misuse(const paramcrypt_keypair *key) {
    paramcrypt_session *session = NULL, *unwrapped = NULL;
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_mode mode;
    char buf[256];
    size_t len = 0, value_len = 0;
    CHECK_STATUS(paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &session), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);

    /* A key pair passed as a session, a session as a key pair, and so on. */
    CHECK_STATUS(paramcrypt_session_mode((const paramcrypt_session *)(const void *)key, &mode),
                 PARAMCRYPT_ERR_INVALID_HANDLE);
    CHECK_STATUS(paramcrypt_session_encrypt((const paramcrypt_session *)(const void *)public_key,
                                            (const uint8_t *)"x", 1, (uint8_t *)buf, sizeof buf, &len),
                 PARAMCRYPT_ERR_INVALID_HANDLE);
    CHECK_STATUS(paramcrypt_keypair_unwrap((const paramcrypt_keypair *)(const void *)session, (const uint8_t *)"AAAA",
                                           4, PARAMCRYPT_PADDING_PKCS1V15, &unwrapped),
                 PARAMCRYPT_ERR_INVALID_HANDLE);
    CHECK(unwrapped == NULL);
    CHECK(paramcrypt_keypair_bits((const paramcrypt_keypair *)(const void *)public_key) == 0);
    /* Freeing through the wrong function is ignored; the handle lives on. */
    paramcrypt_keypair_free((paramcrypt_keypair *)(void *)session);
    CHECK_STATUS(paramcrypt_session_mode(session, &mode), PARAMCRYPT_OK);

    /* The output overlapping the input. */
    CHECK_STATUS(paramcrypt_session_encrypt(session, (const uint8_t *)"secret", 6, (uint8_t *)buf, sizeof buf,
                                            &value_len),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_decrypt(session, (const uint8_t *)buf, value_len, (uint8_t *)buf, sizeof buf, &len),
                 PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_session_decrypt(session, (const uint8_t *)buf, value_len, (uint8_t *)buf + 4, 64, &len),
                 PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_session_encrypt(session, (const uint8_t *)buf + 8, 6, (uint8_t *)buf, sizeof buf, &len),
                 PARAMCRYPT_ERR_INVALID_ARGUMENT);
    /* *out_len inside the output: refused, and the plaintext is not
     * overwritten by a length (it was, at bytes 8 to 15). */
    {
        size_t words[16] = {0};
        CHECK_STATUS(paramcrypt_session_decrypt(session, (const uint8_t *)buf, value_len, (uint8_t *)words,
                                                sizeof words, &words[1]),
                     PARAMCRYPT_ERR_INVALID_ARGUMENT);
        CHECK(words[0] == 0 && words[1] == 0);
    }
    /* Adjacent is fine. */
    CHECK_STATUS(paramcrypt_session_decrypt(session, (const uint8_t *)buf, value_len, (uint8_t *)buf + value_len,
                                            sizeof buf - value_len, &len),
                 PARAMCRYPT_OK);
    CHECK(len == 6 && memcmp(buf + value_len, "secret", 6) == 0);

    paramcrypt_public_key_free(public_key);
    paramcrypt_session_free(session);
}

/* Wraps a fresh key:iv session for `key` into enc_key (NUL-terminated). */
static paramcrypt_session *new_client(const paramcrypt_keypair *key, char *enc_key, size_t cap) {
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_session *client = NULL;
    size_t len = 0;
    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &client), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_wrap(client, public_key, PARAMCRYPT_PADDING_PKCS1V15, (uint8_t *)enc_key, cap - 1,
                                         &len),
                 PARAMCRYPT_OK);
    enc_key[len] = 0;
    paramcrypt_public_key_free(public_key);
    return client;
}

static void test_server(const paramcrypt_keypair *key) {
    paramcrypt_server *server = NULL;
    paramcrypt_server_session *first = NULL, *second = NULL, *other = NULL, *refused = NULL;
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_session *client;
    paramcrypt_mode mode = PARAMCRYPT_MODE_PER_MESSAGE_IV;
    char enc_key[1024], other_key[1024], value[256], reply[256];
    /* 17 bytes: no whole number of blocks, so it fails under any key. */
    const char *forged = "AAAAAAAAAAAAAAAAAAAAAAA=";
    uint8_t plain[256];
    size_t value_len = 0, reply_len = 0, plain_len = 0;
    uint8_t next = 64; /* apart from the other counting tests: repeated answers are refused */

    paramcrypt_server_config config, bad;
    const uint8_t *peer = (const uint8_t *)"192.0.2.10";
    const size_t peer_len = strlen("192.0.2.10");

    /* Configuration is checked. */
    CHECK_STATUS(paramcrypt_server_config_init(2, &config), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, NULL), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &config), PARAMCRYPT_OK);
    CHECK(config.padding == PARAMCRYPT_PADDING_PKCS1V15 && config.modes == PARAMCRYPT_ACCEPT_KEY_IV);
    CHECK(config.cache_capacity == 1024 && config.refusal_capacity == 16384 && config.peer_capacity == 1024);
    CHECK(config.policy.key_failure_budget == 8 && config.policy.peer_failure_limit == 10);
    CHECK(config.clock == NULL && config.on_event == NULL && config.state == NULL && config.state_len == 0);
    bad = config;
    bad.refusal_capacity = 0;
    CHECK_STATUS(paramcrypt_server_new(key, &bad, &server), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    bad = config;
    bad.peer_capacity = 0;
    CHECK_STATUS(paramcrypt_server_new(key, &bad, &server), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    bad = config;
    bad.padding = 7;
    CHECK_STATUS(paramcrypt_server_new(key, &bad, &server), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    bad = config;
    bad.modes = 3;
    CHECK_STATUS(paramcrypt_server_new(key, &bad, &server), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    bad = config;
    bad.policy.key_failure_budget = 0;
    CHECK_STATUS(paramcrypt_server_new(key, &bad, &server), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    bad = config;
    bad.state_len = 5; /* NULL state with a length */
    CHECK_STATUS(paramcrypt_server_new(key, &bad, &server), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_new(NULL, &config, &server), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_new(key, NULL, &server), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_new_with_rng(key, &config, failing_rng, NULL, &server), PARAMCRYPT_ERR_RNG);
    CHECK(server == NULL);
    CHECK_STATUS(paramcrypt_server_config_init(PARAMCRYPT_SETTING_FIRMWARE, &bad), PARAMCRYPT_OK);
    CHECK(bad.cache_capacity == 4 && bad.refusal_capacity == 64 && bad.policy.unwrap_limit == 30);
    CHECK_STATUS(paramcrypt_server_new_with_rng(key, &bad, counter_rng, &next, &server), PARAMCRYPT_OK);
    paramcrypt_server_free(server);
    server = NULL;
    CHECK_STATUS(paramcrypt_server_new(key, &config, &server), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_server_public_key(server, &public_key), PARAMCRYPT_OK);
    CHECK(paramcrypt_public_key_bits(public_key) == 2048);
    paramcrypt_public_key_free(public_key);

    /* Open, decrypt, reply; the same encKey again has the same key id. */
    client = new_client(key, enc_key, sizeof enc_key);
    CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)"secret", 6, (uint8_t *)value, sizeof value - 1,
                                            &value_len),
                 PARAMCRYPT_OK);
    value[value_len] = 0;
    CHECK_STATUS(paramcrypt_server_open(server, peer, peer_len, (const uint8_t *)enc_key, strlen(enc_key), &first),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_server_open_with_rng(server, NULL, 0, (const uint8_t *)enc_key, strlen(enc_key),
                                                 os_like_rng, NULL, &second),
                 PARAMCRYPT_OK);
    CHECK(paramcrypt_server_session_key_id(first) == paramcrypt_server_session_key_id(second));
    CHECK(paramcrypt_server_session_key_id(NULL) == 0);
    CHECK_STATUS(paramcrypt_server_session_mode(first, &mode), PARAMCRYPT_OK);
    CHECK(mode == PARAMCRYPT_MODE_KEY_IV);
    CHECK_STATUS(paramcrypt_server_session_decrypt(first, (const uint8_t *)value, value_len, plain, sizeof plain,
                                                   &plain_len),
                 PARAMCRYPT_OK);
    CHECK(plain_len == 6 && memcmp(plain, "secret", 6) == 0);
    CHECK_STATUS(paramcrypt_server_session_encrypt(second, (const uint8_t *)"reply", 5, (uint8_t *)reply,
                                                   sizeof reply, &reply_len),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_session_decrypt(client, (const uint8_t *)reply, reply_len, plain, sizeof plain,
                                            &plain_len),
                 PARAMCRYPT_OK);
    CHECK(plain_len == 5 && memcmp(plain, "reply", 5) == 0);
    CHECK_STATUS(paramcrypt_server_session_encrypt_with_rng(second, (const uint8_t *)"reply", 5, counter_rng, &next,
                                                            (uint8_t *)reply, sizeof reply, &reply_len),
                 PARAMCRYPT_OK);

    /* A too small buffer is reported before decrypting and counts nothing. */
    CHECK_STATUS(paramcrypt_server_session_decrypt(first, (const uint8_t *)value, value_len, plain, 4, &plain_len),
                 PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(plain_len == 15);

    /* One failure refuses the common key everywhere (for its window). */
    CHECK_STATUS(paramcrypt_server_session_decrypt(first, (const uint8_t *)forged, strlen(forged), plain,
                                                   sizeof plain, &plain_len),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK_STATUS(paramcrypt_server_session_decrypt(second, (const uint8_t *)value, value_len, plain, sizeof plain,
                                                   &plain_len),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK_STATUS(paramcrypt_server_session_encrypt(second, (const uint8_t *)"chosen", 6, (uint8_t *)reply,
                                                   sizeof reply, &reply_len),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    refused = (paramcrypt_server_session *)&next; /* must stay untouched on failure */
    CHECK_STATUS(paramcrypt_server_open(server, peer, peer_len, (const uint8_t *)enc_key, strlen(enc_key), &refused),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK(refused == (paramcrypt_server_session *)&next);

    /* Another client is served. */
    paramcrypt_session_free(client);
    client = new_client(key, other_key, sizeof other_key);
    CHECK_STATUS(paramcrypt_server_open(server, peer, peer_len, (const uint8_t *)other_key, strlen(other_key), &other),
                 PARAMCRYPT_OK);
    CHECK(paramcrypt_server_session_key_id(other) != paramcrypt_server_session_key_id(first));

    /* NULL arguments. */
    CHECK_STATUS(paramcrypt_server_open(NULL, peer, peer_len, (const uint8_t *)other_key, strlen(other_key), &refused),
                 PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_open(server, peer, peer_len, NULL, 5, &refused), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_open(server, NULL, 3, (const uint8_t *)other_key, strlen(other_key), &refused),
                 PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_open(server, peer, peer_len, (const uint8_t *)other_key, strlen(other_key), NULL),
                 PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_get_stats(server, NULL), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_get_stats(NULL, &(paramcrypt_server_stats){0}), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_session_report_failure(NULL), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_session_decrypt(other, (const uint8_t *)value, value_len, plain, sizeof plain, NULL),
                 PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_session_mode(NULL, &mode), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_server_public_key(NULL, &public_key), PARAMCRYPT_ERR_NULL_ARGUMENT);

    /* Sessions outlive the server they came from. */
    paramcrypt_server_free(server);
    CHECK_STATUS(paramcrypt_server_session_encrypt(other, (const uint8_t *)"late", 4, (uint8_t *)reply, sizeof reply,
                                                   &reply_len),
                 PARAMCRYPT_OK);
    paramcrypt_server_session_free(first);
    paramcrypt_server_session_free(second);
    paramcrypt_server_session_free(other);
    paramcrypt_server_session_free(NULL);
    paramcrypt_server_free(NULL);
    paramcrypt_session_free(client);
}

/* The failure policy on a clock the test moves: events, lockdown, stats,
 * reported failures, text decryption and the state across a restart. */
static uint64_t fake_now_ms;
static uint64_t fake_clock(void *user) {
    (void)user;
    return fake_now_ms;
}

struct event_log {
    int count;
    uint32_t kinds[8];
    uint32_t seconds[8];
    char peers[8][32];
};

static void log_event(void *user, const paramcrypt_server_event *event) {
    struct event_log *log = user;
    if (log->count < 8) {
        size_t n = event->peer_len < 31 ? event->peer_len : 31;
        log->kinds[log->count] = event->kind;
        log->seconds[log->count] = event->seconds;
        memcpy(log->peers[log->count], event->peer, n);
        log->peers[log->count][n] = 0;
        log->count++;
    }
}

/* One request from `peer`: open `enc_key`, decrypt `value`. */
static paramcrypt_status request(paramcrypt_server *server, const char *peer, const char *enc_key, const char *value) {
    paramcrypt_server_session *session = NULL;
    uint8_t plain[256];
    size_t plain_len = 0;
    paramcrypt_status status = paramcrypt_server_open(server, (const uint8_t *)peer, strlen(peer),
                                                      (const uint8_t *)enc_key, strlen(enc_key), &session);
    if (status == PARAMCRYPT_OK)
        status = paramcrypt_server_session_decrypt(session, (const uint8_t *)value, strlen(value), plain, sizeof plain,
                                                   &plain_len);
    paramcrypt_server_session_free(session);
    return status;
}

static void test_failure_policy(const paramcrypt_keypair *key) {
    const char *forged = "AAAAAAAAAAAAAAAAAAAAAAA=";
    const char *attacker = "192.0.2.66", *victim = "192.0.2.10";
    paramcrypt_server_config config;
    paramcrypt_server *server = NULL, *restarted = NULL;
    paramcrypt_server_session *session = NULL;
    paramcrypt_server_stats stats;
    paramcrypt_session *client;
    struct event_log log = {0};
    char enc_key[1024], value[256];
    uint8_t plain[64];
    uint8_t *state;
    size_t value_len = 0, plain_len = 0, state_len = 0, needed = 0;
    int i;

    fake_now_ms = 1000000;
    CHECK_STATUS(paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &config), PARAMCRYPT_OK);
    config.clock = fake_clock;
    config.on_event = log_event;
    config.event_user = &log;
    CHECK_STATUS(paramcrypt_server_new(key, &config, &server), PARAMCRYPT_OK);

    /* Ten failures from one address: that peer is locked down for an hour. */
    for (i = 0; i < 10; i++) {
        client = new_client(key, enc_key, sizeof enc_key);
        CHECK_STATUS(request(server, attacker, enc_key, forged), PARAMCRYPT_ERR_ENCRYPTION_FAILED);
        paramcrypt_session_free(client);
    }
    CHECK(log.count == 1 && log.kinds[0] == PARAMCRYPT_EVENT_PEER_LOCKDOWN_STARTED && log.seconds[0] == 3600);
    CHECK(strcmp(log.peers[0], attacker) == 0);
    client = new_client(key, enc_key, sizeof enc_key);
    CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)"ok", 2, (uint8_t *)value, sizeof value - 1,
                                            &value_len),
                 PARAMCRYPT_OK);
    value[value_len] = 0;
    CHECK_STATUS(request(server, attacker, enc_key, value), PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK_STATUS(paramcrypt_server_get_stats(server, &stats), PARAMCRYPT_OK);
    CHECK(stats.failures == 10 && stats.peer_lockdowns == 1 && stats.lockdown_answers == 1);
    CHECK(stats.unwraps == 10 && stats.remembered_keys == 10 && stats.remembered_peers == 1);
    CHECK_STATUS(request(server, victim, enc_key, value), PARAMCRYPT_OK);

    /* The state across a restart: the lockdown holds, a bad blob loads nothing. */
    CHECK_STATUS(paramcrypt_server_export_state(server, NULL, 0, &needed), PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    state = malloc(needed);
    CHECK(state != NULL);
    CHECK_STATUS(paramcrypt_server_export_state(server, state, needed, &state_len), PARAMCRYPT_OK);
    CHECK(state_len == needed);
    config.on_event = NULL;
    config.state = state;
    config.state_len = state_len;
    CHECK_STATUS(paramcrypt_server_new(key, &config, &restarted), PARAMCRYPT_OK);
    CHECK_STATUS(request(restarted, attacker, enc_key, value), PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK_STATUS(request(restarted, victim, enc_key, value), PARAMCRYPT_OK);
    paramcrypt_server_free(restarted);
    restarted = NULL;
    state[state_len / 2] ^= 1;
    CHECK_STATUS(paramcrypt_server_new(key, &config, &restarted), PARAMCRYPT_ERR_INVALID_STATE);
    CHECK(restarted == NULL);
    CHECK(strcmp(paramcrypt_status_message(PARAMCRYPT_ERR_INVALID_STATE),
                 "saved server state is corrupted, of another key pair or of another version") == 0);
    free(state);

    /* An hour later the lockdown is over (reported at the next request). */
    fake_now_ms += 3600 * 1000;
    CHECK_STATUS(request(server, attacker, enc_key, value), PARAMCRYPT_OK);
    CHECK(log.count == 2 && log.kinds[1] == PARAMCRYPT_EVENT_PEER_LOCKDOWN_ENDED && log.seconds[1] == 0);

    /* Text that is not UTF-8, and a value the application rejects, count. */
    CHECK_STATUS(paramcrypt_server_open(server, (const uint8_t *)victim, strlen(victim), (const uint8_t *)enc_key,
                                        strlen(enc_key), &session),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_server_session_decrypt_text(session, (const uint8_t *)value, value_len, plain, sizeof plain,
                                                        &plain_len),
                 PARAMCRYPT_OK);
    CHECK(plain_len == 2 && memcmp(plain, "ok", 2) == 0);
    CHECK_STATUS(paramcrypt_server_session_report_failure(session), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_server_session_decrypt(session, (const uint8_t *)value, value_len, plain, sizeof plain,
                                                   &plain_len),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    paramcrypt_server_session_free(session);
    paramcrypt_session_free(client);
    client = new_client(key, enc_key, sizeof enc_key);
    CHECK_STATUS(paramcrypt_session_encrypt(client, (const uint8_t *)"\xff\xfe", 2, (uint8_t *)value,
                                            sizeof value - 1, &value_len),
                 PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_server_open(server, (const uint8_t *)victim, strlen(victim), (const uint8_t *)enc_key,
                                        strlen(enc_key), &session),
                 PARAMCRYPT_OK);
    memset(plain, 0x55, sizeof plain);
    CHECK_STATUS(paramcrypt_server_session_decrypt_text(session, (const uint8_t *)value, value_len, plain, sizeof plain,
                                                        &plain_len),
                 PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK(plain[0] == 0 && plain[1] == 0);
    CHECK_STATUS(paramcrypt_server_get_stats(server, &stats), PARAMCRYPT_OK);
    CHECK(stats.failures == 12 && stats.refused >= 1 && stats.server_lockdown_seconds == 0);
    paramcrypt_server_session_free(session);
    paramcrypt_session_free(client);
    paramcrypt_server_free(server);
}

/* ---- The client object, against a device made of a server object. ---- */

/* The value of "name":"..." in a compact JSON text (what the client sends). */
static int json_field(const char *json, const char *name, char *out, size_t cap) {
    char pattern[64];
    const char *start, *end;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", name);
    start = strstr(json, pattern);
    if (!start) return 0;
    start += strlen(pattern);
    end = strchr(start, '"');
    if (!end || (size_t)(end - start) >= cap) return 0;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = 0;
    return 1;
}

struct device {
    paramcrypt_server *server;
    char text[256];  /* the device's text form */
    int encrypted_requests;
    int fail_all;  /* answer 40002 to every encrypted request */
};

static int32_t device_transport(void *user, const uint8_t *service, size_t service_len, const uint8_t *request,
                                size_t request_len, uint8_t *response, size_t response_cap, size_t *response_len) {
    struct device *device = user;
    char req[4096], enc_key[1024], value[1024], answer[4096];
    paramcrypt_server_session *session = NULL;
    if (request_len >= sizeof req) return 1;
    memcpy(req, request, request_len);
    req[request_len] = 0;
    if (service_len == 10 && memcmp(service, "encryption", 10) == 0) {
        paramcrypt_public_key *public_key = NULL;
        char b64[1024];
        size_t len = 0;
        if (paramcrypt_server_public_key(device->server, &public_key) != PARAMCRYPT_OK) return 1;
        paramcrypt_status status = paramcrypt_public_key_to_base64(public_key, (uint8_t *)b64, sizeof b64 - 1, &len);
        paramcrypt_public_key_free(public_key);
        if (status != PARAMCRYPT_OK) return 1;
        b64[len] = 0;
        snprintf(answer, sizeof answer, "{\"result\":[{\"publicKey\":\"%s\"}],\"id\":1}", b64);
    } else {
        device->encrypted_requests++;
        strcpy(answer, "{\"error\":[40002,\"Encryption Failed\"],\"id\":1}");
        if (!device->fail_all && json_field(req, "encKey", enc_key, sizeof enc_key) &&
            paramcrypt_server_open(device->server, (const uint8_t *)"client", 6, (const uint8_t *)enc_key,
                                   strlen(enc_key), &session) == PARAMCRYPT_OK) {
            size_t len = 0;
            if (strstr(req, "\"setTextForm\"") && json_field(req, "text", value, sizeof value) &&
                paramcrypt_server_session_decrypt_text(session, (const uint8_t *)value, strlen(value),
                                                       (uint8_t *)device->text, sizeof device->text - 1,
                                                       &len) == PARAMCRYPT_OK) {
                device->text[len] = 0;
                strcpy(answer, "{\"result\":[],\"id\":1}");
            } else if (strstr(req, "\"getTextForm\"") &&
                       paramcrypt_server_session_encrypt(session, (const uint8_t *)device->text, strlen(device->text),
                                                         (uint8_t *)value, sizeof value - 1, &len) == PARAMCRYPT_OK) {
                value[len] = 0;
                snprintf(answer, sizeof answer, "{\"result\":[{\"text\":\"%s\"}],\"id\":1}", value);
            }
        }
        paramcrypt_server_session_free(session);
    }
    if (strlen(answer) > response_cap) return 1;
    memcpy(response, answer, strlen(answer));
    *response_len = strlen(answer);
    return 0;
}

static paramcrypt_status set_text(paramcrypt_client *client, const char *text) {
    paramcrypt_param secret = {(const uint8_t *)"text", 4, (const uint8_t *)text, strlen(text)};
    char out[64];
    size_t len = 0;
    return paramcrypt_client_call(client, (const uint8_t *)"appControl", 10, (const uint8_t *)"setTextForm", 11,
                                  (const uint8_t *)"1.1", 3, NULL, 0, &secret, 1, NULL, 0, (uint8_t *)out, sizeof out,
                                  &len);
}

static void test_client(const paramcrypt_keypair *key) {
    struct device device;
    paramcrypt_server_config server_config;
    paramcrypt_client_config config;
    paramcrypt_client *client = NULL;
    paramcrypt_param decrypt = {(const uint8_t *)"text", 4, NULL, 0};
    paramcrypt_public_key *public_key = NULL;
    char out[512], fingerprint[64], expected[64], message[512];
    size_t len = 0, fingerprint_len = 0, expected_len = 0;

    memset(&device, 0, sizeof device);
    CHECK_STATUS(paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &server_config), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_server_new(key, &server_config, &device.server), PARAMCRYPT_OK);

    /* Configuration and arguments are checked. */
    CHECK_STATUS(paramcrypt_client_config_init(NULL), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_client_config_init(&config), PARAMCRYPT_OK);
    CHECK(config.reuse_calls == 1 && config.failure_budget == 3 && config.failure_window_seconds == 600);
    config.failure_budget = 0;
    CHECK_STATUS(paramcrypt_client_new(&config, device_transport, &device, &client), PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_client_config_init(&config), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_client_new(&config, NULL, &device, &client), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK(client == NULL);
    CHECK_STATUS(paramcrypt_client_new(&config, device_transport, &device, &client), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_client_fingerprint(client, (uint8_t *)fingerprint, sizeof fingerprint, &fingerprint_len),
                 PARAMCRYPT_OK);
    CHECK(fingerprint_len == 0); /* nothing pinned yet */

    /* A secret in one call, back in another under a fresh common key. */
    CHECK_STATUS(set_text(client, "the wifi password"), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_client_call(client, (const uint8_t *)"appControl", 10, (const uint8_t *)"getTextForm", 11,
                                        (const uint8_t *)"1.1", 3, NULL, 0, NULL, 0, &decrypt, 1, (uint8_t *)out, 10,
                                        &len),
                 PARAMCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen("[{\"text\":\"the wifi password\"}]"));
    CHECK_STATUS(paramcrypt_client_result(client, (uint8_t *)out, sizeof out - 1, &len), PARAMCRYPT_OK);
    out[len] = 0;
    CHECK(strcmp(out, "[{\"text\":\"the wifi password\"}]") == 0);

    /* Trust on first use: the device's key is pinned, as OpenSSL would
     * fingerprint it (the published forms all give the same one). */
    CHECK_STATUS(paramcrypt_client_fingerprint(client, (uint8_t *)fingerprint, sizeof fingerprint - 1,
                                               &fingerprint_len),
                 PARAMCRYPT_OK);
    fingerprint[fingerprint_len] = 0;
    CHECK_STATUS(paramcrypt_keypair_public_key(key, &public_key), PARAMCRYPT_OK);
    CHECK_STATUS(paramcrypt_public_key_fingerprint(public_key, (uint8_t *)expected, sizeof expected - 1, &expected_len),
                 PARAMCRYPT_OK);
    expected[expected_len] = 0;
    CHECK(strcmp(fingerprint, expected) == 0 && expected_len == 50);
    paramcrypt_public_key_free(public_key);
    {
        size_t pem_len = 0;
        char *pem = (char *)data_file("keys/published/openssh.pub", &pem_len);
        char *want = (char *)data_file("keys/published/fingerprint.txt", &expected_len);
        CHECK_STATUS(paramcrypt_public_key_from_published((const uint8_t *)pem, pem_len, &public_key), PARAMCRYPT_OK);
        CHECK_STATUS(paramcrypt_public_key_fingerprint(public_key, (uint8_t *)expected, sizeof expected, &len),
                     PARAMCRYPT_OK);
        CHECK(len == 50 && memcmp(expected, want, 50) == 0);
        paramcrypt_public_key_free(public_key);
        public_key = NULL;
        CHECK_STATUS(paramcrypt_public_key_from_published((const uint8_t *)"ssh-rsa AAAA", 12, &public_key),
                     PARAMCRYPT_ERR_INVALID_KEY);
        CHECK(public_key == NULL);
        free(pem);
        free(want);
    }

    /* 40002 from the device: one retry, then the failure; the third failure
     * in ten minutes spends the budget and nothing more is sent. */
    device.fail_all = 1;
    device.encrypted_requests = 0;
    CHECK_STATUS(set_text(client, "x"), PARAMCRYPT_ERR_ENCRYPTION_FAILED);
    CHECK(device.encrypted_requests == 2);
    CHECK_STATUS(set_text(client, "x"), PARAMCRYPT_ERR_FAILURE_BUDGET);
    CHECK_STATUS(set_text(client, "x"), PARAMCRYPT_ERR_FAILURE_BUDGET);
    CHECK(device.encrypted_requests == 3);
    CHECK_STATUS(paramcrypt_client_error_message(client, (uint8_t *)message, sizeof message - 1, &len), PARAMCRYPT_OK);
    message[len] = 0;
    CHECK(strstr(message, "possible active attack") != NULL);
    device.fail_all = 0;
    CHECK_STATUS(paramcrypt_client_reset_failures(client), PARAMCRYPT_OK);
    CHECK_STATUS(set_text(client, "y"), PARAMCRYPT_OK);

    /* A pin of another key: nothing secret is sent; re-pinning is explicit. */
    device.encrypted_requests = 0;
    CHECK_STATUS(paramcrypt_client_pin(client, (const uint8_t *)"SHA256:not-this-key", 19), PARAMCRYPT_OK);
    CHECK_STATUS(set_text(client, "z"), PARAMCRYPT_ERR_PIN_MISMATCH);
    CHECK(device.encrypted_requests == 0);
    CHECK_STATUS(paramcrypt_client_error_message(client, (uint8_t *)message, sizeof message - 1, &len), PARAMCRYPT_OK);
    message[len] = 0;
    CHECK(strstr(message, "SHA256:not-this-key") != NULL && strstr(message, fingerprint) != NULL);
    CHECK_STATUS(paramcrypt_client_repin(client), PARAMCRYPT_OK);
    CHECK_STATUS(set_text(client, "z"), PARAMCRYPT_OK);

    /* Malformed plain parameters and NULL arguments. */
    CHECK_STATUS(paramcrypt_client_call(client, (const uint8_t *)"appControl", 10, (const uint8_t *)"m", 1,
                                        (const uint8_t *)"1.0", 3, (const uint8_t *)"[1,2]", 5, NULL, 0, NULL, 0,
                                        (uint8_t *)out, sizeof out, &len),
                 PARAMCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(paramcrypt_client_call(client, (const uint8_t *)"appControl", 10, (const uint8_t *)"m", 1,
                                        (const uint8_t *)"1.0", 3, NULL, 0, NULL, 2, NULL, 0, (uint8_t *)out,
                                        sizeof out, &len),
                 PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_client_pin(NULL, (const uint8_t *)"x", 1), PARAMCRYPT_ERR_NULL_ARGUMENT);
    CHECK_STATUS(paramcrypt_client_call(NULL, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, (uint8_t *)out,
                                        sizeof out, &len),
                 PARAMCRYPT_ERR_NULL_ARGUMENT);
    paramcrypt_client_free(client);
    paramcrypt_client_free(NULL);
    paramcrypt_server_free(device.server);
}

int main(int argc, char **argv) {
    paramcrypt_keypair *key;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TESTS_DATA_DIR\n", argv[0]);
        return 2;
    }
    data_dir = argv[1];
    key = load_key("keys/rsa2048_pkcs8.pem");

    test_version_and_messages();
    test_key_files_match_openssl();
    test_key_size_floor();
    test_output_buffers(key);
    test_generation();
    test_round_trips(key);
    test_rng_callback_makes_the_session();
    test_broken_rng_is_an_error(key);
    check_fixture(key, "interop/from_cryptography.tsv", 45);
    check_fixture(key, "interop/from_paramcrypt.tsv", 30);
    test_bad_input(key);
    test_null_arguments(key);
    test_server(key);
    test_failure_policy(key);
    test_client(key);
    test_misuse(key);

    paramcrypt_keypair_free(key);
    return finish("test_api");
}
