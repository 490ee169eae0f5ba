/* The client side, built with CMake against the static library (see
 * CMakeLists.txt).
 *
 *   example_client PUBLIC_KEY_BASE64 SECRET   print "encKey value"
 */
#include <stdio.h>
#include <string.h>

#include "paramcrypt.h"

int main(int argc, char **argv) {
    paramcrypt_public_key *public_key = NULL;
    paramcrypt_session *session = NULL;
    unsigned char enc_key[1024], value[2048];
    size_t enc_key_len = 0, value_len = 0;
    int ok;
    if (argc != 3) {
        fprintf(stderr, "usage: %s PUBLIC_KEY_BASE64 SECRET\n", argv[0]);
        return 2;
    }
    ok = paramcrypt_public_key_from_base64((const uint8_t *)argv[1], strlen(argv[1]), &public_key) ==
             PARAMCRYPT_OK &&
         paramcrypt_session_new(PARAMCRYPT_MODE_KEY_IV, &session) == PARAMCRYPT_OK &&
         paramcrypt_session_wrap(session, public_key, PARAMCRYPT_PADDING_PKCS1V15, enc_key, sizeof enc_key,
                                 &enc_key_len) == PARAMCRYPT_OK &&
         paramcrypt_session_encrypt(session, (const uint8_t *)argv[2], strlen(argv[2]), value, sizeof value,
                                    &value_len) == PARAMCRYPT_OK;
    if (ok) printf("%.*s %.*s\n", (int)enc_key_len, (const char *)enc_key, (int)value_len, (const char *)value);
    paramcrypt_session_free(session);
    paramcrypt_public_key_free(public_key);
    return ok ? 0 : 1;
}
