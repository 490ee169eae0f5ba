/* The header compiles cleanly as C (built with -std=c99 -Wall -Wextra
 * -Wpedantic -Werror) and its declarations are usable. */
#include "paramcrypt.h"

int header_compiles_as_c(void);
int header_compiles_as_c(void) {
    paramcrypt_status status = PARAMCRYPT_ERR_ENCRYPTION_FAILED;
    paramcrypt_mode mode = PARAMCRYPT_MODE_KEY_IV;
    paramcrypt_padding padding = PARAMCRYPT_PADDING_PKCS1V15;
    paramcrypt_rng_callback rng = 0;
    (void)rng;
    return (int)(status + mode + padding) + PARAMCRYPT_VERSION_MAJOR;
}
