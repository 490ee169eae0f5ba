@ The body of paramcrypt_umaal_row (lib.rs); braces are doubled for global_asm!.
@ Two limbs per iteration (5.5 instructions a limb); an odd count does one
@ limb first. The count is public (the modulus length): no secret branch.
    push    {{r4-r11, lr}}
    ldm     r0, {{r1-r9}}           @ t, next, b, m, count, ai, u, c1, c2
    tst     r5, #1
    beq     2f
    ldr     r10, [r1], #4           @ t[j]
    ldr     r11, [r3], #4           @ b[j]
    umaal   r10, r8, r6, r11        @ (s, c1) = t[j] + ai * b[j] + c1
    ldr     r11, [r4], #4           @ m[j]
    umaal   r10, r9, r7, r11        @ (r, c2) = s + u * m[j] + c2
    str     r10, [r2], #4           @ next[j - 1] = r
    subs    r5, r5, #1
    beq     3f
2:
    ldm     r1!, {{r10, r12}}       @ t[j], t[j + 1]
    ldm     r3!, {{r11, lr}}        @ b[j], b[j + 1]
    umaal   r10, r8, r6, r11
    ldr     r11, [r4], #4           @ m[j]
    umaal   r10, r9, r7, r11
    umaal   r12, r8, r6, lr
    ldr     r11, [r4], #4           @ m[j + 1]
    umaal   r12, r9, r7, r11
    stm     r2!, {{r10, r12}}
    subs    r5, r5, #2
    bne     2b
3:
    str     r8, [r0, #28]           @ the carries back into the Row
    str     r9, [r0, #32]
    pop     {{r4-r11, pc}}
