/* Minimal test harness shared by the C tests: counts checks and failures,
 * prints a closing "N passed, N failed" line. */
#ifndef PARAMCRYPT_TEST_CHECK_H
#define PARAMCRYPT_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paramcrypt.h"

static int checks_passed;
static int checks_failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            checks_passed++;                                                 \
        } else {                                                             \
            checks_failed++;                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

#define CHECK_STATUS(call, expected)                                           \
    do {                                                                       \
        paramcrypt_status got_ = (call);                                       \
        if (got_ == (paramcrypt_status)(expected)) {                           \
            checks_passed++;                                                   \
        } else {                                                               \
            checks_failed++;                                                   \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %s\n",       \
                    __FILE__, __LINE__, #call, (unsigned)got_,                 \
                    paramcrypt_status_message(got_), #expected);               \
        }                                                                      \
    } while (0)

static int finish(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot size %s\n", path);
        exit(2);
    }
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    buf[size] = 0;
    *len = (size_t)size;
    return buf;
}

#endif
