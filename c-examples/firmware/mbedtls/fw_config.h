/* mbedTLS 2.28 for the firmware comparison (`make size`): the functions of
 * ../mbedtls_functions.c and nothing more, as a firmware engineer would
 * configure it: the bignum's multiply-accumulate in assembly (UMAAL on the
 * Cortex-M4), no 64-bit division helper from libgcc, RSA-2048 at most.
 *
 * The AES tables are mbedTLS's trade-off between flash, RAM and stack, so
 * `make size` builds both ways: by default they are built in RAM (8.5 KiB
 * of .bss) at the first AES call, which takes 2 KiB of stack; with
 * PARAMCRYPT_FW_AES_TABLES_IN_FLASH they are constants (2 KiB of flash
 * more with MBEDTLS_AES_FEWER_TABLES, 8 KiB without). */
#ifndef PARAMCRYPT_FW_MBEDTLS_CONFIG_H
#define PARAMCRYPT_FW_MBEDTLS_CONFIG_H

#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_UDBL_DIVISION
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_CIPHER_MODE_CBC
/* RSA-2048 at most: the PKCS#1 decryption's buffer on the stack is this
 * size (1,024 B by default). */
#define MBEDTLS_MPI_MAX_SIZE 256

#define MBEDTLS_AES_C
#if defined(PARAMCRYPT_FW_AES_TABLES_IN_FLASH)
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#endif
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_BIGNUM_C
/* Not called here, but the RSA signature code that pk's RSA table links
 * needs it. */
#define MBEDTLS_MD_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_RSA_C

#include "mbedtls/check_config.h"

#endif
