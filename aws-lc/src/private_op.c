/* The RSA private-key operation on AWS-LC, with the working memory of its
 * AVX-512 IFMA exponentiation on the caller's stack instead of the heap.
 *
 * Why: on CPUs with AVX-512 IFMA, AWS-LC computes both CRT halves at once
 * and mallocs two buffers for it (11,216 + 1,184 octets for RSA-2048), three
 * quarters of the heap an unwrap needs. OpenSSL 3.0 keeps the same table on
 * the stack. AWS-LC has no option for that, but it lets the program supply
 * its allocator (the weak OPENSSL_memory_* symbols, crypto/mem.c). These
 * four hooks behave as AWS-LC's own allocator (malloc with a size prefix,
 * wiped on free) for every allocation, except that while
 * rsa_aws_lc_private_op runs on a thread, requests of exactly the two
 * IFMA buffer sizes for that key are carved from a buffer on its stack.
 * They serve this copy of AWS-LC in the whole process (in a Rust program,
 * every user of the same aws-lc-sys), whose CRYPTO_set_mem_functions then
 * refuses; they are hidden, so libparamcrypt.so does not export them.
 *
 * Safety: only requests of those exact sizes, made on the thread inside the
 * call, are served from the stack; AWS-LC frees both before
 * RSAZ_mod_exp_avx512_x2 returns (crypto/fipsmodule/bn/rsaz_exp_x2.c). If
 * either were still allocated when RSA_decrypt returns (an AWS-LC change),
 * the process aborts rather than return with a pointer into a dead frame.
 * The tests in lib.rs check the sizes against the AWS-LC in the lock file
 * (on a CPU with IFMA) and bound AWS-LC's heap per operation.
 *
 * Stack: the buffers (12.5 KiB for RSA-2048, 24.7 KiB for RSA-4096) come
 * from the stack only when the calling thread has room for them and for
 * AWS-LC's own frames (STACK_RESERVE) below the current frame; otherwise
 * AWS-LC mallocs them as it would without these hooks. Small thread stacks
 * (musl's 128 KiB default is fine; worker pools with 16 or 32 KiB are not)
 * then cost heap, never a crash. This file is compiled with stack-clash
 * protection, so that a frame larger than the room left faults on the
 * guard page instead of jumping over it. */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/rsa.h>

/* Header in front of every allocation: its size and, for stack memory, the
 * window that served it. 16 octets keep malloc's alignment. */
struct header {
    size_t size;
    struct window *window;
};
_Static_assert(sizeof(struct header) == 16, "header keeps 16-octet alignment");

struct window {
    unsigned char *base;
    size_t capacity, used;
    size_t sizes[2];    /* the exact request sizes served from the stack */
    size_t live;        /* stack allocations not yet freed */
    size_t served;      /* stack allocations made */
    /* Heap octets allocated minus freed during the window, and its peak: the
       same "peak above the start" that bench/c/heap.c reports. */
    long long heap_delta;
    size_t heap_peak;
};

static _Thread_local struct window *open_window;
static _Thread_local struct rsa_aws_lc_private_op_stats {
    size_t served_from_stack, heap_peak;
} last_stats;

static void wipe(void *p, size_t n) {
    memset(p, 0, n);
    /* Keeps the compiler from dropping the memset of memory about to die. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

void *OPENSSL_memory_alloc(size_t size) {
    struct window *w = open_window;
    if (w != NULL && size != 0 && (size == w->sizes[0] || size == w->sizes[1])) {
        size_t need = sizeof(struct header) + ((size + 15) & ~(size_t)15);
        if (w->capacity - w->used >= need) {
            struct header *h = (struct header *)(w->base + w->used);
            w->used += need;
            w->live++;
            w->served++;
            h->size = size;
            h->window = w;
            return h + 1;
        }
    }
    if (size > SIZE_MAX - sizeof(struct header)) return NULL;
    struct header *h = malloc(sizeof(struct header) + size);
    if (h == NULL) return NULL;
    h->size = size;
    h->window = NULL;
    if (w != NULL) {
        w->heap_delta += (long long)size;
        if (w->heap_delta > (long long)w->heap_peak) w->heap_peak = (size_t)w->heap_delta;
    }
    return h + 1;
}

/* AWS-LC never passes NULL here. */
void OPENSSL_memory_free(void *ptr) {
    struct header *h = (struct header *)ptr - 1;
    wipe(ptr, h->size);
    if (h->window != NULL) {
        h->window->live--;
        return;
    }
    struct window *w = open_window;
    if (w != NULL) w->heap_delta -= (long long)h->size;
    wipe(h, sizeof *h);
    free(h);
}

size_t OPENSSL_memory_get_size(void *ptr) { return ((struct header *)ptr - 1)->size; }

/* Defined too, so that no other definition in the process can be bound to
 * AWS-LC's weak reference: AWS-LC's own fallback (copy, then wipe and free). */
void *OPENSSL_memory_realloc(void *ptr, size_t size) {
    if (ptr == NULL) return OPENSSL_memory_alloc(size);
    void *moved = OPENSSL_memory_alloc(size);
    if (moved == NULL) return NULL;
    size_t old = OPENSSL_memory_get_size(ptr);
    memcpy(moved, ptr, old < size ? old : size);
    OPENSSL_memory_free(ptr);
    return moved;
}

/* Stack left below the operation's frame for AWS-LC's own frames: a whole
 * RSA-2048 unwrap, the 12.5 KiB buffers included, peaks at 15.1 KiB
 * (bench/c/heap), so AWS-LC needs about 3 KiB; four times that. */
#define STACK_RESERVE ((size_t)12 * 1024)

/* The lowest address of the calling thread's stack, looked up once per
 * thread; 0 when the platform cannot tell (then nothing is taken from the
 * stack). */
static _Thread_local uintptr_t stack_low;
static _Thread_local int stack_low_known;

static uintptr_t thread_stack_low(void) {
    if (!stack_low_known) {
        stack_low_known = 1;
#if defined(__linux__)
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void *addr = NULL;
            size_t size = 0;
            if (pthread_attr_getstack(&attr, &addr, &size) == 0) stack_low = (uintptr_t)addr;
            pthread_attr_destroy(&attr);
        }
#elif defined(__APPLE__)
        stack_low = (uintptr_t)pthread_get_stackaddr_np(pthread_self()) - pthread_get_stacksize_np(pthread_self());
#endif
    }
    return stack_low;
}

/* Whether `need` octets of stack can be taken below `here` with
 * STACK_RESERVE left over (stacks grow down on every target built here). */
static int stack_has_room(const void *here, size_t need) {
    uintptr_t low = thread_stack_low(), top = (uintptr_t)here;
    return low != 0 && top > low && top - low >= need + STACK_RESERVE;
}

/* The two buffers RSAZ_mod_exp_avx512_x2 allocates for primes of `bits`
 * bits (crypto/fipsmodule/bn/rsaz_exp_x2.c): the seven operands in 52-bit
 * digits, and Y, X, the 32-entry table of powers and the expanded exponents
 * (window of 5 bits), both with 64 octets for alignment. 0 for sizes that
 * path does not take. */
static void ifma_buffer_sizes(unsigned bits, size_t sizes[2]) {
    size_t digits, padded_digits, exponent_digits;
    switch (bits) {
    case 1024: digits = 20, padded_digits = 20, exponent_digits = 16; break;
    case 1536: digits = 30, padded_digits = 32, exponent_digits = 24; break;
    case 2048: digits = 40, padded_digits = 40, exponent_digits = 32; break;
    default: sizes[0] = sizes[1] = 0; return;
    }
    size_t ymm_capacity = (digits * 64 + 255) / 256 * 4;
    sizes[0] = 7 * ymm_capacity * 8 + 64;
    sizes[1] = (4 * padded_digits + 2 * padded_digits * 32 + 2 * (exponent_digits + 1)) * 8 + 64;
}

/* RSA_decrypt with RSA_NO_PADDING (RSADP: blinded, CRT, AWS-LC's fault
 * check). Returns 1 and sets *written on success, as RSA_decrypt. */
int rsa_aws_lc_private_op(RSA *rsa, size_t *written, uint8_t *out, size_t out_len,
                          const uint8_t *in, size_t in_len) {
    const BIGNUM *p = NULL, *q = NULL;
    RSA_get0_factors(rsa, &p, &q);
    unsigned bits = (p != NULL && q != NULL && BN_num_bits(p) == BN_num_bits(q)) ? BN_num_bits(p) : 0;
    struct window w = {0};
    ifma_buffer_sizes(bits, w.sizes);
    size_t capacity = w.sizes[0] == 0 ? 0 : w.sizes[0] + w.sizes[1] + 2 * (sizeof(struct header) + 16);
    /* Sized for this key (12.5 KiB for RSA-2048, 24.7 KiB for RSA-4096) when
       the thread has room for it, one unit otherwise; in max_align_t units,
       so aligned as malloc's memory is. */
    if (!stack_has_room(&w, capacity)) capacity = 0;
    w.capacity = capacity;
    max_align_t scratch[capacity / sizeof(max_align_t) + 1];
    w.base = (unsigned char *)scratch;

    struct window *outer = open_window;
    open_window = &w;
    int ok = RSA_decrypt(rsa, written, out, out_len, in, in_len, RSA_NO_PADDING);
    open_window = outer;

    /* Every block was wiped when AWS-LC freed it. One still allocated would
       outlive this frame: see the note at the top. */
    if (w.live != 0) abort();
    last_stats.served_from_stack = w.served;
    last_stats.heap_peak = w.heap_peak;
    return ok;
}

/* For tests: what the calling thread's last rsa_aws_lc_private_op
 * took from the stack (allocations) and the heap (peak octets, AWS-LC's only). */
void rsa_aws_lc_last_private_op(size_t *served_from_stack, size_t *heap_peak) {
    *served_from_stack = last_stats.served_from_stack;
    *heap_peak = last_stats.heap_peak;
}
