// The header compiles cleanly as C++ (-Wall -Wextra -Wpedantic -Werror) and
// declares its functions with C linkage.
#include "paramcrypt.h"

int header_compiles_as_cpp();
int header_compiles_as_cpp() {
    paramcrypt_status status = PARAMCRYPT_ERR_ENCRYPTION_FAILED;
    paramcrypt_session *session = nullptr;
    paramcrypt_session_free(session);
    return static_cast<int>(status) == PARAMCRYPT_ENCRYPTION_FAILED_CODE ? 0 : 1;
}
