/* The device side, built with CMake (see CMakeLists.txt).
 *
 *   example_server keygen KEY_FILE   make a 2048-bit key, store it (mode 0600),
 *                                    print the getPublicKey value
 *   example_server open KEY_FILE     read "encKey value" from stdin, print
 *                                    the decrypted secret's length, or 40002
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paramcrypt.h"

static int keygen(const char *path) {
    paramcrypt_keypair *key = NULL;
    paramcrypt_public_key *public_key = NULL;
    unsigned char pem[4096], b64[1024];
    size_t pem_len = 0, b64_len = 0;
    int fd, ok = paramcrypt_keypair_generate(2048, &key) == PARAMCRYPT_OK &&
                 paramcrypt_keypair_to_pkcs8_pem(key, pem, sizeof pem, &pem_len) == PARAMCRYPT_OK &&
                 paramcrypt_keypair_public_key(key, &public_key) == PARAMCRYPT_OK &&
                 paramcrypt_public_key_to_base64(public_key, b64, sizeof b64, &b64_len) == PARAMCRYPT_OK;
    fd = ok ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    ok = ok && fd >= 0 && write(fd, pem, pem_len) == (ssize_t)pem_len;
    if (fd >= 0) close(fd);
    if (ok) printf("%.*s\n", (int)b64_len, (const char *)b64);
    memset(pem, 0, sizeof pem);
    paramcrypt_public_key_free(public_key);
    paramcrypt_keypair_free(key);
    return ok ? 0 : 1;
}

static int open_request(const char *path) {
    char enc_key[1024], value[1024];
    unsigned char pem[4096], secret[1024];
    size_t pem_len, secret_len = 0;
    paramcrypt_keypair *key = NULL;
    paramcrypt_server_config config;
    paramcrypt_server *server = NULL;
    paramcrypt_server_session *session = NULL;
    paramcrypt_status status;
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    pem_len = fread(pem, 1, sizeof pem, f);
    fclose(f);
    status = paramcrypt_keypair_from_pem(pem, pem_len, &key);
    memset(pem, 0, sizeof pem);
    if (status == PARAMCRYPT_OK) status = paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &config);
    if (status == PARAMCRYPT_OK) status = paramcrypt_server_new(key, &config, &server);
    paramcrypt_keypair_free(key);
    if (status != PARAMCRYPT_OK || scanf("%1023s %1023s", enc_key, value) != 2) return 1;
    /* The peer: who sent the request (here, one local client). */
    status = paramcrypt_server_open(server, (const uint8_t *)"stdin", 5, (const uint8_t *)enc_key, strlen(enc_key),
                                    &session);
    if (status == PARAMCRYPT_OK)
        status = paramcrypt_server_session_decrypt(session, (const uint8_t *)value, strlen(value), secret,
                                                   sizeof secret, &secret_len);
    if (status == PARAMCRYPT_OK)
        printf("decrypted a %zu-byte secret\n", secret_len);
    else
        printf("%d %s\n", PARAMCRYPT_ENCRYPTION_FAILED_CODE, PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE);
    memset(secret, 0, sizeof secret);
    paramcrypt_server_session_free(session);
    paramcrypt_server_free(server);
    return status == PARAMCRYPT_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "keygen") == 0) return keygen(argv[2]);
    if (argc == 3 && strcmp(argv[1], "open") == 0) return open_request(argv[2]);
    fprintf(stderr, "usage: %s keygen|open KEY_FILE\n", argv[0]);
    return 2;
}
