/*
 * Stack and register scrubbing for the leak test programs (x86-64 SysV):
 * zero 64 KiB of dead stack below the caller by moving the stack pointer
 * down first (so valgrind sees valid writes), clear the caller-saved
 * registers, then call leak_checkpoint. See checkpoint.h.
 */
        .text

        .globl  leak_scrub
        .type   leak_scrub, @function
leak_scrub:
        sub     $65536, %rsp
        mov     %rsp, %rdi
        mov     $8192, %ecx
        xor     %eax, %eax
        cld
        rep stosq
        add     $65536, %rsp
        xor     %edx, %edx
        xor     %esi, %esi
        xor     %edi, %edi
        xor     %r8d, %r8d
        xor     %r9d, %r9d
        xor     %r10d, %r10d
        xor     %r11d, %r11d
        ret
        .size   leak_scrub, .-leak_scrub

        .globl  leak_scrub_and_checkpoint
        .type   leak_scrub_and_checkpoint, @function
leak_scrub_and_checkpoint:
        push    %rbp
        mov     %rsp, %rbp
        call    leak_scrub
        call    leak_checkpoint
        pop     %rbp
        ret
        .size   leak_scrub_and_checkpoint, .-leak_scrub_and_checkpoint

        .globl  leak_hold_in_r12_and_checkpoint
        .type   leak_hold_in_r12_and_checkpoint, @function
leak_hold_in_r12_and_checkpoint:
        push    %r12
        mov     (%rdi), %r12
        movq    $0, (%rdi)
        call    leak_scrub
        call    leak_checkpoint
        xor     %r12d, %r12d
        pop     %r12
        ret
        .size   leak_hold_in_r12_and_checkpoint, .-leak_hold_in_r12_and_checkpoint

        .section .note.GNU-stack,"",@progbits
