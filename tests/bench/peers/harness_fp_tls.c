/*
 * Completes tests/unwind/unwind_harness.c for the unwinder microbenchmark:
 * runtime/unwind_fp.c reads the runtime's per-thread stack-bounds cache
 * (stack_bounds.c) directly, which the harness does not define. Left at
 * state 0 ("not looked up"), they make unwind_fp ask the harness's
 * thread_stack_bounds() on every walk: one extra call per walk, not per
 * frame.
 */
#include <stdint.h>

__thread uint64_t memsnap_stack_lo __attribute__((tls_model("initial-exec")));
__thread uint64_t memsnap_stack_hi __attribute__((tls_model("initial-exec")));
__thread int memsnap_stack_state __attribute__((tls_model("initial-exec")));
