/* paramcrypt demo: a device (server) and a client exchange the JSON-RPC
 * messages of the encryption protocol, printed as they travel.
 *
 *   demo [KEY_FILE]     (default: build/demo-server-key.pem)
 *
 * The server loads its RSA key from KEY_FILE, or generates one and stores it
 * there (mode 0600) so the next start reuses it, and opens encKeys through a
 * paramcrypt_server, passing each request's sender address as its peer: a
 * client reusing its encKey costs no RSA work, and a decryption failure
 * costs the common key (refused for a while, for good after a few) and the
 * sender (locked down after ten in a day), so that replayed encKeys are no
 * padding oracle. The secret methods need the pre-shared key (the
 * X-Auth-PSK header of deployed devices), and stored secrets belong to the
 * common key that stored them.
 *
 * The client is a paramcrypt_client over a transport callback (here an
 * in-process "HTTP POST"): it fetches and pins the device's public key,
 * makes a fresh common key per call, sends sendSecretData with two secrets
 * and encKey, reads the first back with getSecretData (decrypted by the
 * client object), and handles 40002. An attacker replays a captured encKey
 * with a forged secret from its own address and the key is refused; the
 * client, with its fresh keys, is unaffected; after the server restarts
 * with a new key, the pin stops the client before it sends a secret, until
 * the key change is confirmed (re-pin). Secret values and the PSK are never
 * printed.
 *
 * The device's JSON handling is deliberately minimal (fixed field lookup,
 * no escapes): enough for these messages, not a JSON parser. The client
 * needs none: it gives the client object names and values, and gets the
 * result's JSON back.
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

#define SECRET_CAP 256
/* Longer than SECRET_CAP: the server's decryption reports
 * PARAMCRYPT_ERR_BUFFER_TOO_SMALL and it answers 40002. */
#define LONG_SECRET                                                                                      \
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" \
    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" \
    "0123456789012345678901234567890123456789012345678901234567890123456789"
#define STORE_SLOTS 8

/* A stored secret, owned by the common key that stored it. The secret is
 * on the heap in a block of exactly its length, so that valgrind (make
 * test-valgrind runs this demo) reports any use of a wrong length. */
struct stored_secret {
    uint64_t owner; /* paramcrypt_server_session_key_id; 0: free slot */
    unsigned char *secret;
    size_t len;
};

struct server {
    paramcrypt_keypair *key;
    paramcrypt_server *server;
    const char *psk;
    struct stored_secret store[STORE_SLOTS];
    unsigned next_slot;
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

/* The server's lockdown events: a device logs them as a possible attack. */
static void log_lockdown(void *user, const paramcrypt_server_event *event) {
    static const char *const what[] = {"", "peer lockdown started", "peer lockdown ended", "server lockdown started",
                                       "server lockdown ended"};
    (void)user;
    printf("# server log: %s (%.*s, %u s)\n", event->kind <= 4 ? what[event->kind] : "event", (int)event->peer_len,
           (const char *)event->peer, event->seconds);
}

static int server_open_encryption(struct server *server) {
    /* The server defaults (the padding and modes of deployed clients, the
     * failure policy), with the lockdown events logged. */
    paramcrypt_server_config config;
    paramcrypt_status status = paramcrypt_server_config_init(PARAMCRYPT_SETTING_SERVER, &config);
    config.on_event = log_lockdown;
    if (status == PARAMCRYPT_OK) status = paramcrypt_server_new(server->key, &config, &server->server);
    if (status != PARAMCRYPT_OK) fprintf(stderr, "server: %s\n", paramcrypt_status_message(status));
    return status == PARAMCRYPT_OK;
}

static int server_load_key(struct server *server, const char *key_path) {
    FILE *f = fopen(key_path, "rb");
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

static int server_start(struct server *server, const char *key_path, const char *psk) {
    memset(server, 0, sizeof *server);
    server->psk = psk;
    return server_load_key(server, key_path) && server_open_encryption(server);
}

static void store_clear(struct stored_secret *slot);

static void server_stop(struct server *server) {
    unsigned i;
    for (i = 0; i < STORE_SLOTS; i++) store_clear(&server->store[i]);
    paramcrypt_server_free(server->server);
    paramcrypt_keypair_free(server->key);
    wipe(server, sizeof *server);
}

/* Compares the PSK in constant time: the time must not tell how much of a
 * guess is right. */
static int psk_ok(const struct server *server, const char *psk) {
    size_t want = strlen(server->psk), got = psk ? strlen(psk) : 0, i;
    volatile unsigned char diff = (unsigned char)(want != got);
    for (i = 0; i < want; i++) diff |= (unsigned char)(server->psk[i] ^ (i < got ? psk[i] : 0));
    return psk && diff == 0;
}

static void store_clear(struct stored_secret *slot) {
    if (slot->secret) wipe(slot->secret, slot->len);
    free(slot->secret);
    memset(slot, 0, sizeof *slot);
}

/* Stores a copy of `secret` in `slot` (replacing what it held). */
static int store_put(struct stored_secret *slot, const unsigned char *secret, size_t len) {
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) return 0;
    memcpy(copy, secret, len);
    if (slot->secret) wipe(slot->secret, slot->len);
    free(slot->secret);
    slot->secret = copy;
    slot->len = len;
    return 1;
}

/* The slot of the secret stored by `owner`, or a slot to store it in. */
static struct stored_secret *store_slot(struct server *server, uint64_t owner, int create) {
    unsigned i;
    for (i = 0; i < STORE_SLOTS; i++)
        if (server->store[i].owner == owner) return &server->store[i];
    if (!create) return NULL;
    i = server->next_slot++ % STORE_SLOTS; /* the oldest owner loses its secret */
    store_clear(&server->store[i]);
    server->store[i].owner = owner;
    return &server->store[i];
}

static void encryption_failed(long id, char *response, size_t cap) {
    snprintf(response, cap, "{\"error\":[%d,\"%s\"],\"id\":%ld}", PARAMCRYPT_ENCRYPTION_FAILED_CODE,
             PARAMCRYPT_ENCRYPTION_FAILED_MESSAGE, id);
}

/* Handles one JSON-RPC request on POST /sony/<service> with the X-Auth-PSK
 * header `psk` (NULL: absent). */
static void server_handle(struct server *server, const char *peer, const char *psk, const char *request,
                          char *response, size_t cap) {
    char method[64], enc_key[FIELD_CAP], value[FIELD_CAP];
    long id = json_id(request);
    paramcrypt_server_session *session = NULL;

    if (!json_string(request, "method", method, sizeof method)) {
        snprintf(response, cap, "{\"error\":[3,\"Illegal Argument\"],\"id\":%ld}", id);
        return;
    }
    if (strcmp(method, "getPublicKey") == 0) {
        paramcrypt_public_key *public_key = NULL;
        char b64[1024];
        size_t b64_len = 0;
        if (paramcrypt_server_public_key(server->server, &public_key) != PARAMCRYPT_OK ||
            paramcrypt_public_key_to_base64(public_key, (uint8_t *)b64, sizeof b64 - 1, &b64_len) != PARAMCRYPT_OK) {
            snprintf(response, cap, "{\"error\":[500,\"Internal Error\"],\"id\":%ld}", id);
        } else {
            b64[b64_len] = 0;
            snprintf(response, cap, "{\"result\":[{\"publicKey\":\"%s\"}],\"id\":%ld}", b64, id);
        }
        paramcrypt_public_key_free(public_key);
        return;
    }
    if (strcmp(method, "sendSecretData") != 0 && strcmp(method, "getSecretData") != 0) {
        snprintf(response, cap, "{\"error\":[12,\"No Such Method\"],\"id\":%ld}", id);
        return;
    }
    /* The secret methods need the pre-shared key: an encKey does not
     * authenticate its sender (anyone can make one from the public key). */
    if (!psk_ok(server, psk)) {
        snprintf(response, cap, "{\"error\":[401,\"Unauthorized\"],\"id\":%ld}", id);
        return;
    }
    /* Both carry encKey; any failure from here is 40002. */
    if (!json_string(request, "encKey", enc_key, sizeof enc_key) ||
        paramcrypt_server_open(server->server, (const uint8_t *)peer, strlen(peer), (const uint8_t *)enc_key,
                               strlen(enc_key), &session) != PARAMCRYPT_OK) {
        encryption_failed(id, response, cap);
        return;
    }
    if (strcmp(method, "sendSecretData") == 0) {
        unsigned char secret1[SECRET_CAP], secret2[SECRET_CAP];
        size_t len1 = 0, len2 = 0;
        /* Decrypt into scratch buffers; the store changes only when both
         * succeed: after a failure *out_len is no data length (after
         * PARAMCRYPT_ERR_BUFFER_TOO_SMALL it is the size a too-long secret
         * would need). The secrets are text: a value that is not UTF-8
         * fails, and counts, like a bad padding. */
        int ok = json_string(request, "secretData1", value, sizeof value) &&
                 paramcrypt_server_session_decrypt_text(session, (const uint8_t *)value, strlen(value), secret1,
                                                        sizeof secret1, &len1) == PARAMCRYPT_OK &&
                 json_string(request, "secretData2", value, sizeof value) &&
                 paramcrypt_server_session_decrypt_text(session, (const uint8_t *)value, strlen(value), secret2,
                                                        sizeof secret2, &len2) == PARAMCRYPT_OK;
        if (ok && store_put(store_slot(server, paramcrypt_server_session_key_id(session), 1), secret1, len1)) {
            snprintf(response, cap, "{\"result\":[],\"id\":%ld}", id);
        } else {
            encryption_failed(id, response, cap);
        }
        wipe(secret1, sizeof secret1);
        wipe(secret2, sizeof secret2);
    } else {
        const struct stored_secret *slot = store_slot(server, paramcrypt_server_session_key_id(session), 0);
        size_t len = 0;
        if (paramcrypt_server_session_encrypt(session, slot ? slot->secret : (const uint8_t *)"",
                                              slot ? slot->len : 0, (uint8_t *)value, sizeof value - 1,
                                              &len) == PARAMCRYPT_OK) {
            value[len] = 0;
            snprintf(response, cap, "{\"result\":[{\"secretData\":\"%s\"}],\"id\":%ld}", value, id);
        } else {
            encryption_failed(id, response, cap);
        }
    }
    paramcrypt_server_session_free(session);
}

/* ------------------------------------------------------------------ client */

/* The addresses requests come from: the server counts failures per peer. */
#define CLIENT_ADDRESS "192.0.2.10"
#define ATTACKER_ADDRESS "192.0.2.66"

/* One HTTP request from `peer`; the PSK header is shown masked. */
static void call(struct server *server, const char *peer, const char *psk, const char *service, const char *request,
                 char *response) {
    printf("-> %s: POST /sony/%s%s %s\n", peer, service, psk ? " (X-Auth-PSK: ***)" : "", request);
    server_handle(server, peer, psk, request, response, MSG_CAP);
    printf("<- %s\n", response);
}

/* The client's transport: the client object hands it each JSON-RPC request
 * (no JSON library needed here), and it "POSTs" it to the in-process device
 * from the client's address, keeping a copy of the last request sent (what
 * an eavesdropper captures). A real device speaks HTTP (see the CLI and the
 * Python HttpTransport). */
struct wire {
    struct server *server;
    const char *psk;
    char last_request[MSG_CAP];
};

static int32_t http_post(void *user, const uint8_t *service, size_t service_len, const uint8_t *request,
                         size_t request_len, uint8_t *response, size_t response_cap, size_t *response_len) {
    struct wire *wire = user;
    char service_text[64], answer[MSG_CAP];
    if (service_len >= sizeof service_text || request_len >= sizeof wire->last_request) return 1;
    memcpy(service_text, service, service_len);
    service_text[service_len] = 0;
    memcpy(wire->last_request, request, request_len);
    wire->last_request[request_len] = 0;
    call(wire->server, CLIENT_ADDRESS, wire->psk, service_text, wire->last_request, answer);
    if (strlen(answer) > response_cap) return 1;
    memcpy(response, answer, strlen(answer));
    *response_len = strlen(answer);
    return 0;
}

/* A client of the device: one retry after 40002, at most 3 failures in 10
 * minutes, the device's key pinned on first use. The default makes a fresh
 * common key per call; this device keeps each secret for the common key
 * that stored it, so this client keeps one key until it must start over. */
static paramcrypt_client *client_new(struct wire *wire) {
    paramcrypt_client_config config;
    paramcrypt_client *client = NULL;
    if (paramcrypt_client_config_init(&config) != PARAMCRYPT_OK) return NULL;
    config.reuse_calls = 1000;
    if (paramcrypt_client_new(&config, http_post, wire, &client) != PARAMCRYPT_OK) return NULL;
    return client;
}

static paramcrypt_param text_param(const char *name, const char *value) {
    paramcrypt_param param;
    param.name = (const uint8_t *)name;
    param.name_len = strlen(name);
    param.value = (const uint8_t *)value;
    param.value_len = value ? strlen(value) : 0;
    return param;
}

/* Prints why the last call failed (never a secret). */
static void client_report(paramcrypt_client *client, paramcrypt_status status) {
    char message[512];
    size_t len = 0;
    if (paramcrypt_client_error_message(client, (uint8_t *)message, sizeof message - 1, &len) != PARAMCRYPT_OK) len = 0;
    message[len] = 0;
    printf("# client: %s: %s\n", paramcrypt_status_message(status), message);
}

/* demo sendSecretData with two secrets; the client adds encKey. */
static paramcrypt_status client_send_secrets(paramcrypt_client *client, const char *one, const char *two) {
    paramcrypt_param secrets[2];
    char result[256];
    size_t len = 0;
    paramcrypt_status status;
    secrets[0] = text_param("secretData1", one);
    secrets[1] = text_param("secretData2", two);
    status = paramcrypt_client_call(client, (const uint8_t *)"demo", 4, (const uint8_t *)"sendSecretData", 14,
                                    (const uint8_t *)"1.0", 3, NULL, 0, secrets, 2, NULL, 0, (uint8_t *)result,
                                    sizeof result, &len);
    if (status != PARAMCRYPT_OK) client_report(client, status);
    return status;
}

/* demo getSecretData: the result's secretData decrypted by the client. */
static int client_get_secret(paramcrypt_client *client, const char *expected) {
    paramcrypt_param decrypt = text_param("secretData", NULL);
    char result[512], want[512];
    size_t len = 0;
    int ok;
    paramcrypt_status status = paramcrypt_client_call(
        client, (const uint8_t *)"demo", 4, (const uint8_t *)"getSecretData", 13, (const uint8_t *)"1.0", 3, NULL, 0,
        NULL, 0, &decrypt, 1, (uint8_t *)result, sizeof result - 1, &len);
    if (status != PARAMCRYPT_OK) {
        client_report(client, status);
        return 0;
    }
    result[len] = 0;
    /* The result is JSON: [{"secretData":"<the decrypted text>"}]. */
    snprintf(want, sizeof want, "[{\"secretData\":\"%s\"}]", expected);
    ok = strcmp(result, want) == 0;
    wipe(result, sizeof result);
    return ok;
}

static void send_secret_data_request(char *request, size_t cap, const char *value1, const char *value2,
                                     const char *enc_key, long id) {
    snprintf(request, cap,
             "{\"method\":\"sendSecretData\",\"params\":[{\"secretData1\":\"%s\",\"secretData2\":\"%s\","
             "\"encKey\":\"%s\"}],\"id\":%ld,\"version\":\"1.0\"}",
             value1, value2, enc_key, id);
}

/* An attacker who captured a sendSecretData request (and the PSK, which
 * travels in the clear without TLS) replays its encKey from its own address
 * with a forged secretData1, as a padding-oracle attack does, then replays
 * the request unchanged: the common key is refused for its window (10 s
 * after a first failure). Returns 1 when both get 40002. */
static int attacker_replays(struct server *server, const char *psk, const char *captured) {
    char enc_key[FIELD_CAP], request[MSG_CAP], response[MSG_CAP];
    int refused;
    if (!json_string(captured, "encKey", enc_key, sizeof enc_key)) return 0;
    /* 17 bytes: no whole number of blocks, so it fails whatever the key. */
    send_secret_data_request(request, sizeof request, "AAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAA==",
                             enc_key, 666);
    call(server, ATTACKER_ADDRESS, psk, "demo", request, response);
    refused = strstr(response, "[40002,") != NULL;
    call(server, ATTACKER_ADDRESS, psk, "demo", captured, response);
    return refused && strstr(response, "[40002,") != NULL;
}

static const char *verdict(int ok) { return ok ? "match" : "MISMATCH"; }

int main(int argc, char **argv) {
    const char *key_path = argc > 1 ? argv[1] : "build/demo-server-key.pem";
    /* A device's pre-shared key, set by its owner (never printed). */
    const char *psk = "demo-psk-0123456789";
    struct server server;
    struct wire wire, wrong_psk_wire;
    paramcrypt_client *client, *other;
    char captured[MSG_CAP], pin[64];
    size_t pin_len = 0;
    int sent, got, kept, guarded, replay_refused, unaffected, pinned, recovered;

    printf("# paramcrypt %s demo\n", paramcrypt_version());
    if (!server_start(&server, key_path, psk)) return 1;
    wire.server = &server;
    wire.psk = psk;
    client = client_new(&wire);
    if (!client) return 1;

    printf("\n# sendSecretData: the client object fetches and pins the public key, makes a common key,\n"
           "# and sends both secrets and encKey in one params object\n");
    sent = client_send_secrets(client, "correct horse battery staple", "1234") == PARAMCRYPT_OK;
    memcpy(captured, wire.last_request, sizeof captured);
    printf("# server decrypted and stored both secrets: %s\n", verdict(sent));

    printf("\n# getSecretData: the server answers with the client's own secret, under its common key\n");
    got = client_get_secret(client, "correct horse battery staple");
    printf("# client decrypted secretData: %s\n", verdict(got));

    printf("\n# a secret longer than the device stores: 40002 (after one retry), the stored secret stays intact\n");
    other = client_new(&wire);
    kept = other && client_send_secrets(other, LONG_SECRET, "x") == PARAMCRYPT_ERR_ENCRYPTION_FAILED &&
           client_get_secret(client, "correct horse battery staple");
    paramcrypt_client_free(other);
    printf("# the stored secret is unchanged: %s\n", verdict(kept));

    printf("\n# without the pre-shared key, the secret methods are refused\n");
    wrong_psk_wire.server = &server;
    wrong_psk_wire.psk = "not the psk";
    other = client_new(&wrong_psk_wire);
    guarded = other && client_send_secrets(other, "x", "y") == PARAMCRYPT_ERR_RPC;
    paramcrypt_client_free(other);
    printf("# 401 Unauthorized: %s\n", verdict(guarded));

    printf("\n# an attacker replays the captured encKey with a forged secret: the server refuses that common key\n");
    replay_refused = attacker_replays(&server, psk, captured);
    printf("# forged and replayed requests answered 40002: %s\n", verdict(replay_refused));
    printf("# the client's key is refused too: the client object gets 40002, starts over once, and is served\n");
    unaffected = client_send_secrets(client, "a fresh secret", "4321") == PARAMCRYPT_OK &&
                 client_get_secret(client, "a fresh secret");
    printf("# with a new common key the client is served again: %s\n", verdict(unaffected));

    printf("\n# the server restarts with a new key (its key file was replaced); a client started later has\n"
           "# the old key's pin (an application stores it, as the CLI and Python do in a known-devices file)\n");
    if (paramcrypt_client_fingerprint(client, (uint8_t *)pin, sizeof pin - 1, &pin_len) != PARAMCRYPT_OK) return 1;
    pin[pin_len] = 0;
    printf("# pinned: %s\n", pin);
    server_stop(&server);
    if (unlink(key_path) != 0 || !server_start(&server, key_path, psk)) return 1;
    paramcrypt_client_free(client);
    client = client_new(&wire);
    pinned = client && paramcrypt_client_pin(client, (const uint8_t *)pin, pin_len) == PARAMCRYPT_OK &&
             client_send_secrets(client, "new secret", "5678") == PARAMCRYPT_ERR_PIN_MISMATCH;
    printf("# the pin stopped the client before it sent a secret to an unknown key: %s\n", verdict(pinned));
    printf("# the device's owner confirms the key change: re-pin\n");
    recovered = pinned && paramcrypt_client_repin(client) == PARAMCRYPT_OK &&
                client_send_secrets(client, "new secret", "5678") == PARAMCRYPT_OK &&
                client_get_secret(client, "new secret");
    printf("# after re-pinning, the server decrypted both secrets: %s\n", verdict(recovered));

    paramcrypt_client_free(client);
    server_stop(&server);
    {
        int ok = sent && got && kept && guarded && replay_refused && unaffected && pinned && recovered;
        printf("\n%s\n", ok ? "demo OK" : "demo FAILED");
        return ok ? 0 : 1;
    }
}
