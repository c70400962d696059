/*
 * An allocator that signal handlers may call: glibc's malloc family with
 * every signal blocked while glibc's code runs. glibc's allocator is not
 * async-signal-safe (a handler that allocates while the thread is inside
 * it corrupts the heap, traced or not), so a program whose handlers
 * allocate needs an allocator like this one. tests/c/test_signal_allocations.c
 * links it after libmemsnap.so: the runtime's hooks find it as "the real
 * allocator" (dlsym RTLD_NEXT), and a handler can still interrupt the
 * runtime's code around it, which is what the test is about.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

/* Calls made so far: the test checks that the runtime calls through here. */
unsigned long signal_safe_alloc_calls;

/* Runs `call` with every signal blocked, keeping errno as it set it. */
#define SIGNALS_BLOCKED(call)                                 \
    do {                                                      \
        sigset_t all_, old_;                                  \
        __atomic_fetch_add(&signal_safe_alloc_calls, 1, __ATOMIC_RELAXED); \
        sigfillset(&all_);                                    \
        pthread_sigmask(SIG_BLOCK, &all_, &old_);             \
        call;                                                 \
        int errno_ = errno;                                   \
        pthread_sigmask(SIG_SETMASK, &old_, NULL);            \
        errno = errno_;                                       \
    } while (0)

void *malloc(size_t size)
{
    void *p;
    SIGNALS_BLOCKED(p = __libc_malloc(size));
    return p;
}

void free(void *ptr)
{
    SIGNALS_BLOCKED(__libc_free(ptr));
}

void *calloc(size_t count, size_t size)
{
    void *p;
    SIGNALS_BLOCKED(p = __libc_calloc(count, size));
    return p;
}

void *realloc(void *ptr, size_t size)
{
    void *p;
    SIGNALS_BLOCKED(p = __libc_realloc(ptr, size));
    return p;
}

void *memalign(size_t align, size_t size)
{
    void *p;
    SIGNALS_BLOCKED(p = __libc_memalign(align, size));
    return p;
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = memalign(align, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
