/* paramcrypt demo: a device (server) and a client exchange the JSON-RPC
 * messages of the encryption protocol, printed as they travel.
 *
 *   demo [KEY_FILE]     (default: build/demo-server-key.pem)
 *
 * The server loads its RSA key from KEY_FILE, or generates one and stores it
 * there (mode 0600) so the next start reuses it. The client fetches the public
 * key, sends sendSecretData with two secrets and encKey, reads them back with
 * getSecretData, and, after the server restarts with a new key, recovers from
 * 40002 by starting over. Secret values are never printed.
 *
 * The JSON handling is deliberately minimal (fixed field lookup, no escapes):
 * enough for these messages, not a JSON parser.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paramcrypt.h"

#define MSG_CAP 8192
#define FIELD_CAP 2048

/* Copies the string value of "name":"..." from json into out. */
static int json_string(const char *json, const char *name, char *out, size_t cap) {
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

static long json_id(const char *json) {
    const char *id = strstr(json, "\"id\":");
    return id ? strtol(id + 5, NULL, 10) : 0;
}

/* Wipes a secret buffer in a way the compiler cannot drop. */
static void wipe(void *buf, size_t len) {
    volatile unsigned char *p = buf;
    while (len--) *p++ = 0;
}

/* ------------------------------------------------------------------ server */

struct server {
    paramcrypt_keypair *key;
    unsigned char secret1[256], secret2[256];
    size_t secret1_len, secret2_len;
};

static int save_key(const paramcrypt_keypair *key, const char *path) {
    unsigned char pem[4096];
    size_t pem_len = 0;
    int fd, ok;
    if (paramcrypt_keypair_to_pkcs8_pem(key, pem, sizeof pem, &pem_len) != PARAMCRYPT_OK) return 0;
    /* Created with mode 0600: the file holds the private key. */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, pem, pem_len) == (ssize_t)pem_len;
    if (fd >= 0) close(fd);
    wipe(pem, sizeof pem);
    return ok;
}

static int server_start(struct server *server, const char *key_path) {
    FILE *f = fopen(key_path, "rb");
    memset(server, 0, sizeof *server);
    if (f) {
        unsigned char pem[4096];
        size_t len = fread(pem, 1, sizeof pem, f);
        paramcrypt_status status;
        fclose(f);
        status = paramcrypt_keypair_from_pem(pem, len, &server->key);
        wipe(pem, sizeof pem);
        if (status != PARAMCRYPT_OK) {
            fprintf(stderr, "server: %s: %s\n", key_path, paramcrypt_status_message(status));
            return 0;
        }
        printf("# server: loaded its %zu-bit key from %s\n", paramcrypt_keypair_bits(server->key), key_path);
        return 1;
    }
    if (paramcrypt_keypair_generate(2048, &server->key) != PARAMCRYPT_OK || !save_key(server->key, key_path)) {
        fprintf(stderr, "server: cannot create %s: %s\n", key_path, strerror(errno));
        return 0;
    }
    printf("# server: generated a 2048-bit key and stored it in %s (mode 0600)\n", key_path);
    return 1;
}

static void server_stop(struct server *server) {
    paramcrypt_keypair_free(server->key);
    wipe(server, sizeof *server);
}

static void encryption_failed(long id, char *response, size_t cap) {
    snprintf(response, cap, "{\"error\":[%d,\"%s\"],\"id\":%ld}", PARAMCRYPT_ENCRYPTION_FAILED_CODE,
             PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE, id);
}

/* Handles one JSON-RPC request on POST /sony/<service>. */
static void server_handle(struct server *server, const char *request, char *response, size_t cap) {
    char method[64], enc_key[FIELD_CAP], value[FIELD_CAP];
    long id = json_id(request);
    paramcrypt_session *session = NULL;

    if (!json_string(request, "method", method, sizeof method)) {
        snprintf(response, cap, "{\"error\":[3,\"Illegal Argument\"],\"id\":%ld}", id);
        return;
    }
    if (strcmp(method, "getPublicKey") == 0) {
        paramcrypt_public_key *public_key = NULL;
        char b64[1024];
        size_t b64_len = 0;
        if (paramcrypt_keypair_public_key(server->key, &public_key) != PARAMCRYPT_OK ||
            paramcrypt_public_key_to_base64(public_key, (uint8_t *)b64, sizeof b64 - 1, &b64_len) != PARAMCRYPT_OK) {
            snprintf(response, cap, "{\"error\":[500,\"Internal Error\"],\"id\":%ld}", id);
        } else {
            b64[b64_len] = 0;
            snprintf(response, cap, "{\"result\":[{\"publicKey\":\"%s\"}],\"id\":%ld}", b64, id);
        }
        paramcrypt_public_key_free(public_key);
        return;
    }
    /* Every other method carries encKey; any failure from here is 40002. */
    if (!json_string(request, "encKey", enc_key, sizeof enc_key) ||
        paramcrypt_keypair_unwrap(server->key, (const uint8_t *)enc_key, strlen(enc_key),
                                  PARAMCRYPT_PADDING_PKCS1V15, &session) != PARAMCRYPT_OK) {
        encryption_failed(id, response, cap);
        return;
    }
    if (strcmp(method, "sendSecretData") == 0) {
        int ok = json_string(request, "secretData1", value, sizeof value) &&
                 paramcrypt_session_decrypt(session, (const uint8_t *)value, strlen(value), server->secret1,
                                            sizeof server->secret1, &server->secret1_len) == PARAMCRYPT_OK &&
                 json_string(request, "secretData2", value, sizeof value) &&
                 paramcrypt_session_decrypt(session, (const uint8_t *)value, strlen(value), server->secret2,
                                            sizeof server->secret2, &server->secret2_len) == PARAMCRYPT_OK;
        if (ok)
            snprintf(response, cap, "{\"result\":[],\"id\":%ld}", id);
        else
            encryption_failed(id, response, cap);
    } else if (strcmp(method, "getSecretData") == 0) {
        size_t len = 0;
        if (paramcrypt_session_encrypt(session, server->secret1, server->secret1_len, (uint8_t *)value,
                                       sizeof value - 1, &len) == PARAMCRYPT_OK) {
            value[len] = 0;
            snprintf(response, cap, "{\"result\":[{\"secretData\":\"%s\"}],\"id\":%ld}", value, id);
        } else {
            encryption_failed(id, response, cap);
        }
    } else {
        snprintf(response, cap, "{\"error\":[12,\"No Such Method\"],\"id\":%ld}", id);
    }
    paramcrypt_session_free(session);
}

/* ------------------------------------------------------------------ client */

struct client {
    paramcrypt_session *session;
    char enc_key[FIELD_CAP];
    long next_id;
};

static void call(struct server *server, const char *service, const char *request, char *response) {
    printf("-> POST /sony/%s %s\n", service, request);
    server_handle(server, request, response, MSG_CAP);
    printf("<- %s\n", response);
}

static int client_initialize(struct client *client, struct server *server) {
    char request[MSG_CAP], response[MSG_CAP], b64[1024];
    paramcrypt_public_key *public_key = NULL;
    size_t enc_key_len = 0;
    int ok;
    printf("# client: initialization: fetch the public key, make and wrap a common key\n");
    paramcrypt_session_free(client->session);
    client->session = NULL;
    snprintf(request, sizeof request, "{\"method\":\"getPublicKey\",\"params\":[],\"id\":%ld,\"version\":\"1.0\"}",
             ++client->next_id);
    call(server, "encryption", request, response);
    ok = json_string(response, "publicKey", b64, sizeof b64) &&
         paramcrypt_public_key_from_base64((const uint8_t *)b64, strlen(b64), &public_key) == PARAMCRYPT_OK &&
         paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &client->session) == PARAMCRYPT_OK &&
         paramcrypt_session_wrap(client->session, public_key, PARAMCRYPT_PADDING_PKCS1V15,
                                 (uint8_t *)client->enc_key, sizeof client->enc_key - 1, &enc_key_len) == PARAMCRYPT_OK;
    client->enc_key[ok ? enc_key_len : 0] = 0;
    paramcrypt_public_key_free(public_key);
    return ok;
}

static int encrypt_field(const struct client *client, const char *secret, char *out, size_t cap) {
    size_t len = 0;
    if (paramcrypt_session_encrypt(client->session, (const uint8_t *)secret, strlen(secret), (uint8_t *)out, cap - 1,
                                   &len) != PARAMCRYPT_OK)
        return 0;
    out[len] = 0;
    return 1;
}

/* sendSecretData; on 40002 the client starts over once. */
static int client_send_secrets(struct client *client, struct server *server, const char *one, const char *two) {
    int attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        char request[MSG_CAP], response[MSG_CAP], value1[FIELD_CAP], value2[FIELD_CAP];
        if (!client->session && !client_initialize(client, server)) return 0;
        if (!encrypt_field(client, one, value1, sizeof value1) || !encrypt_field(client, two, value2, sizeof value2))
            return 0;
        snprintf(request, sizeof request,
                 "{\"method\":\"sendSecretData\",\"params\":[{\"secretData1\":\"%s\",\"secretData2\":\"%s\","
                 "\"encKey\":\"%s\"}],\"id\":%ld,\"version\":\"1.0\"}",
                 value1, value2, client->enc_key, ++client->next_id);
        call(server, "demo", request, response);
        if (strstr(response, "\"result\"")) return 1;
        if (strstr(response, "[40002,")) {
            printf("# client: 40002 Encryption Failed -> start over\n");
            paramcrypt_session_free(client->session);
            client->session = NULL;
        }
    }
    return 0;
}

static int client_get_secret(struct client *client, struct server *server, const char *expected) {
    char request[MSG_CAP], response[MSG_CAP], value[FIELD_CAP];
    unsigned char plain[256];
    size_t plain_len = 0;
    int ok;
    snprintf(request, sizeof request,
             "{\"method\":\"getSecretData\",\"params\":[{\"encKey\":\"%s\"}],\"id\":%ld,\"version\":\"1.0\"}",
             client->enc_key, ++client->next_id);
    call(server, "demo", request, response);
    ok = json_string(response, "secretData", value, sizeof value) &&
         paramcrypt_session_decrypt(client->session, (const uint8_t *)value, strlen(value), plain, sizeof plain,
                                    &plain_len) == PARAMCRYPT_OK &&
         plain_len == strlen(expected) && memcmp(plain, expected, plain_len) == 0;
    wipe(plain, sizeof plain);
    return ok;
}

static int stored(const struct server *server, const char *one, const char *two) {
    return server->secret1_len == strlen(one) && memcmp(server->secret1, one, server->secret1_len) == 0 &&
           server->secret2_len == strlen(two) && memcmp(server->secret2, two, server->secret2_len) == 0;
}

static const char *verdict(int ok) { return ok ? "match" : "MISMATCH"; }

int main(int argc, char **argv) {
    const char *key_path = argc > 1 ? argv[1] : "build/demo-server-key.pem";
    struct server server;
    struct client client = {NULL, {0}, 0};
    int sent, got, recovered;

    printf("# paramcrypt %s demo\n", paramcrypt_version());
    if (!server_start(&server, key_path)) return 1;

    printf("\n# sendSecretData: two secret parameters and encKey in one params object\n");
    sent = client_send_secrets(&client, &server, "correct horse battery staple", "1234") &&
           stored(&server, "correct horse battery staple", "1234");
    printf("# server decrypted both secrets: %s\n", verdict(sent));

    printf("\n# getSecretData: the server answers with the client's common key\n");
    got = client_get_secret(&client, &server, "correct horse battery staple");
    printf("# client decrypted secretData: %s\n", verdict(got));

    printf("\n# the server restarts with a new key (its key file was replaced); the client keeps its encKey\n");
    server_stop(&server);
    if (unlink(key_path) != 0 || !server_start(&server, key_path)) return 1;
    recovered = client_send_secrets(&client, &server, "new secret", "5678") && stored(&server, "new secret", "5678");
    printf("# after 40002 and re-initialization the server decrypted both secrets: %s\n", verdict(recovered));

    paramcrypt_session_free(client.session);
    server_stop(&server);
    printf("\n%s\n", sent && got && recovered ? "demo OK" : "demo FAILED");
    return sent && got && recovered ? 0 : 1;
}
