/* A minimal device: load its key (or generate and store one), print the
 * getPublicKey value, then for each line "PEER ENCKEY VALUE" on standard
 * input open the encKey with the server object and decrypt the value.
 *   cc device.c $(pkg-config --cflags --libs paramcrypt) -o device && ./device key.pem */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "paramcrypt.h"

static paramcrypt_keypair *load_or_generate(const char *path) {
    uint8_t pem[4096];
    size_t pem_len = 0;
    paramcrypt_keypair *key = NULL;
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {                                   /* the stored key */
        ssize_t n = read(fd, pem, sizeof pem);
        close(fd);
        if (n <= 0 || paramcrypt_keypair_from_pem(pem, (size_t)n, &key) != PARAMCRYPT_OK) key = NULL;
    } else if (paramcrypt_keypair_generate(2048, &key) == PARAMCRYPT_OK &&
               paramcrypt_keypair_to_pkcs8_pem(key, pem, sizeof pem, &pem_len) == PARAMCRYPT_OK) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);   /* secret: owner only */
        if (fd < 0 || write(fd, pem, pem_len) != (ssize_t)pem_len) {
            paramcrypt_keypair_free(key);
            key = NULL;
        }
        if (fd >= 0) close(fd);
    }
    memset(pem, 0, sizeof pem);                      /* the private key */
    return key;
}

int main(int argc, char **argv) {
    paramcrypt_keypair *key = argc == 2 ? load_or_generate(argv[1]) : NULL;
    paramcrypt_server_config config;
    paramcrypt_server *server = NULL;
    paramcrypt_public_key *public_key = NULL;
    uint8_t published[1024];
    size_t published_len = 0;
    if (key == NULL || paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &config) != PARAMCRYPT_OK ||
        paramcrypt_server_new(key, &config, &server) != PARAMCRYPT_OK ||
        paramcrypt_keypair_public_key(key, &public_key) != PARAMCRYPT_OK ||
        paramcrypt_public_key_to_base64(public_key, published, sizeof published, &published_len) != PARAMCRYPT_OK) {
        fprintf(stderr, "usage: device KEY.pem (a key that loads, or where to store a new one)\n");
        return 1;
    }
    paramcrypt_public_key_free(public_key);
    paramcrypt_keypair_free(key);                    /* the server keeps its own copy */
    printf("getPublicKey: %.*s\n", (int)published_len, (const char *)published);

    char peer[64], enc_key[1024], value[4096], secret[4096];
    while (scanf("%63s %1023s %4095s", peer, enc_key, value) == 3) {
        paramcrypt_server_session *session = NULL;
        size_t secret_len = 0;
        paramcrypt_status status = paramcrypt_server_open(server, (const uint8_t *)peer, strlen(peer),
                                                          (const uint8_t *)enc_key, strlen(enc_key), &session);
        if (status == PARAMCRYPT_OK)
            status = paramcrypt_server_session_decrypt_text(session, (const uint8_t *)value, strlen(value),
                                                            (uint8_t *)secret, sizeof secret, &secret_len);
        if (status == PARAMCRYPT_OK)                 /* secret_len means something only now */
            printf("decrypted a %zu-byte secret\n", secret_len);   /* never print the secret */
        else if (status == PARAMCRYPT_ERR_ENCRYPTION_FAILED)
            printf("{\"error\":[%d,\"%s\"]}\n", PARAMCRYPT_ENCRYPTION_FAILED_CODE, PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE);
        else
            printf("error: %s\n", paramcrypt_status_message(status));
        memset(secret, 0, sizeof secret);
        paramcrypt_server_session_free(session);   /* wipes the common key; NULL is fine */
    }
    paramcrypt_server_free(server);
    return 0;
}
