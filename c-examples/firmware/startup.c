/* Bare-metal start-up for the QEMU mps2-an386 (Cortex-M4F): vector table,
 * reset handler, newlib's _sbrk, and fault handlers that end the run with a
 * distinct exit status over semihosting. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern uint8_t __heap_start, __heap_end;
extern uint32_t __stack_top;

int main(void);
void initialise_monitor_handles(void);
void __libc_init_array(void);
void Reset_Handler(void);

/* With -nostartfiles, newlib's __libc_init_array still calls these. */
void _init(void) {}
void _fini(void) {}

void _exit(int status);

static void fault(void) { _exit(99); }

static void default_handler(void) { _exit(98); }

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top), /* initial stack pointer */
    Reset_Handler,
    default_handler, /* NMI */
    fault,           /* HardFault */
    fault,           /* MemManage */
    fault,           /* BusFault */
    fault,           /* UsageFault */
    0, 0, 0, 0,
    default_handler, /* SVCall */
    default_handler, /* DebugMon */
    0,
    default_handler, /* PendSV */
    default_handler, /* SysTick */
};

void Reset_Handler(void) {
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    uint32_t *src, *dst;

    /* Full access to CP10/CP11 before any floating-point instruction. */
    *cpacr |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* Kept as volatile loops so the compiler cannot turn them into
     * memcpy/memset calls before the C library is ready. */
    for (src = &__data_load, dst = &__data_start; dst < &__data_end;) *(volatile uint32_t *)dst++ = *src++;
    for (dst = &__bss_start; dst < &__bss_end;) *(volatile uint32_t *)dst++ = 0;

    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

/* newlib's heap: from the end of .bss up to the stack. */
void *_sbrk(ptrdiff_t increment) {
    static uint8_t *brk = &__heap_start;
    uint8_t *previous = brk;
    if (increment > 0 && (size_t)increment > (size_t)(&__heap_end - brk)) {
        errno = ENOMEM;
        return (void *)-1;
    }
    brk += increment;
    return previous;
}
