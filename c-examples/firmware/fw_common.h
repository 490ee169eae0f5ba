/* What the firmware images share, so that paramcrypt (main.c) and mbedTLS
 * (mbedtls/reference.c) are run and measured the same way: stack high-water
 * marks by painting, instruction counts from a timer under QEMU's
 * `-icount shift=0` (lines starting "measure " are read by `make size`,
 * fw_size.py), the RNG stand-in and a text comparison. */
#ifndef FW_COMMON_H
#define FW_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- Stack high-water mark: paint, run, find the lowest word touched. ---- */

extern uint32_t __stack_limit;
#define STACK_PAINT 0x5AC3A55Au

static uintptr_t current_sp(void) {
    uintptr_t sp;
#if defined(__riscv)
    __asm__ volatile("mv %0, sp" : "=r"(sp));
#else
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#endif
    return sp;
}

/* Paints from the stack limit to 256 bytes below `top` (this function's own
 * frame lives in that gap). */
static void paint_stack(uintptr_t top) {
    volatile uint32_t *p = &__stack_limit;
    while ((uintptr_t)p < top - 256) *p++ = STACK_PAINT;
}

static size_t stack_used_below(uintptr_t top) {
    const uint32_t *p = &__stack_limit;
    while (*p == STACK_PAINT) p++;
    return top - (uintptr_t)p;
}

/* ---- Time. Under `-icount shift=0` one guest instruction takes 1 ns of
 * virtual time. timer_now() counts down. ---- */

#if defined(__riscv)
#define PLATFORM_NAME "RV32IMC (QEMU virt)"
/* RISC-V: the instructions-retired counter, read in machine mode; under
 * -icount it counts exactly. One tick is one instruction (1 ns). */
#define TICKS_PER_MS 1000000u
#define INSTRUCTIONS_PER_TICK 1ul

static void timer_start(void) {}

static uint32_t timer_now(void) {
    uint32_t retired;
    __asm__ volatile(".option push\n\t.option arch, +zicsr\n\tcsrr %0, minstret\n\t.option pop" : "=r"(retired));
    return 0xFFFFFFFFu - retired;
}
#else
#define PLATFORM_NAME "Cortex-M4 (mps2-an386)"
/* Cortex-M4 (mps2-an386): CMSDK APB timer 0 at 25 MHz, so one tick is 40
 * instructions. */
#define TICKS_PER_MS 25000u
#define INSTRUCTIONS_PER_TICK 40ul
#define TIMER0 ((volatile uint32_t *)0x40000000u)
enum { TIMER_CTRL = 0, TIMER_VALUE = 1, TIMER_RELOAD = 2 };

static void timer_start(void) {
    TIMER0[TIMER_CTRL] = 0;
    TIMER0[TIMER_RELOAD] = 0xFFFFFFFFu;
    TIMER0[TIMER_VALUE] = 0xFFFFFFFFu;
    TIMER0[TIMER_CTRL] = 1;
}

static uint32_t timer_now(void) { return TIMER0[TIMER_VALUE]; }
#endif

static void report_time(const char *what, uint32_t start, uint32_t end) {
    uint32_t ticks = start - end; /* counts down */
    printf("measure %s_ticks=%lu\n", what, (unsigned long)ticks);
    printf("measure %s_instructions=%lu\n", what, (unsigned long)ticks * INSTRUCTIONS_PER_TICK);
}

/* ---- RNG callback. A stand-in: QEMU's mps2-an386 has no TRNG, so this is a
 * fixed-seed xorshift64*, NOT a cryptographic RNG. A real device passes its
 * hardware RNG here (and fails the call when the RNG fails). ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static int fw_rng(void *user, uint8_t *buf, size_t len) {
    size_t i;
    (void)user;
    for (i = 0; i < len; i++) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        buf[i] = (uint8_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 56);
    }
    return 0;
}

static int equals_text(const uint8_t *data, size_t len, const char *text) {
    return len == strlen(text) && memcmp(data, text, len) == 0;
}

/* Whether `data` is the 1 KiB parameter's plaintext (make_vectors.py:
 * byte i is (i * 7 + 3) mod 256). */
static int is_param_1kib(const uint8_t *data, size_t len) {
    size_t i;
    if (len != 1024) return 0;
    for (i = 0; i < len; i++)
        if (data[i] != (uint8_t)((i * 7 + 3) & 0xFF)) return 0;
    return 1;
}

#endif
