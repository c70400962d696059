/*
 * The exported root of the trace table (memsnap_root, found by readers by
 * name), its field table generated from MEMSNAP_RECORDS/MEMSNAP_FIELDS, and
 * the public C API of include/memsnap.h. Each API call holds the reentrancy
 * guard while it works, so nothing it does is traced.
 */
#include <errno.h>

#include "field_size.h"
#include "internal.h"
#include "memsnap.h"

#define RECORD_COUNT(rec) +1
#define FIELD_COUNT(rec, fld) +1
enum { FIELD_TABLE_LENGTH = 0 MEMSNAP_RECORDS(RECORD_COUNT) MEMSNAP_FIELDS(FIELD_COUNT) };

static const struct memsnap_field field_table[FIELD_TABLE_LENGTH] = {
#define RECORD_ENTRY(rec) {#rec, 0, sizeof(struct memsnap_##rec)},
#define FIELD_ENTRY(rec, fld) \
    {#rec "." #fld, offsetof(struct memsnap_##rec, fld), MEMSNAP_FIELD_SIZE(rec, fld)},
    MEMSNAP_RECORDS(RECORD_ENTRY) MEMSNAP_FIELDS(FIELD_ENTRY)
};

MEMSNAP_API struct memsnap_root memsnap_root __attribute__((aligned(64))) = {
    .magic = MEMSNAP_MAGIC,
    .major = MEMSNAP_LAYOUT_MAJOR,
    .minor = MEMSNAP_LAYOUT_MINOR,
    .root_size = sizeof(struct memsnap_root),
    .fields_count = FIELD_TABLE_LENGTH,
    .field_size = sizeof(struct memsnap_field),
    .max_frames = MEMSNAP_MAX_FRAMES,
    .site_id_bits = MEMSNAP_SITE_ID_BITS,
};

struct runtime_hot hot;

void publish_state(void)
{
    for (;;) {
        uint32_t state = __atomic_load_n(&memsnap_root.state, __ATOMIC_SEQ_CST);
        uint32_t limit = __atomic_load_n(&memsnap_root.traceback_limit, __ATOMIC_SEQ_CST);
        __atomic_store_n(&hot.limit, limit < MEMSNAP_MAX_FRAMES ? limit : MEMSNAP_MAX_FRAMES,
                         __ATOMIC_SEQ_CST);
        __atomic_store_n(&hot.tracing, (state & MEMSNAP_STATE_TRACING) != 0, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&memsnap_root.state, __ATOMIC_SEQ_CST) == state &&
            __atomic_load_n(&memsnap_root.traceback_limit, __ATOMIC_SEQ_CST) == limit)
            return;
    }
}

void root_fill_header(void)
{
    memsnap_root.fields = (uint64_t)(uintptr_t)field_table;
}

/* Runs `body` with the guard held (after start-up). A call made while
 * this thread is already inside the runtime (from a signal handler that
 * interrupted a hook) could wait for a lock its own thread holds: it
 * returns -EBUSY instead. */
#define GUARDED(body)                        \
    do {                                     \
        ensure_initialized();                \
        if (memsnap_in_runtime)              \
            return -EBUSY;                   \
        memsnap_in_runtime = 1;              \
        body;                                \
        guard_leave();                       \
    } while (0)

int memsnap_start(unsigned nframes)
{
    if (nframes < 1 || nframes > MEMSNAP_MAX_FRAMES)
        return -EINVAL;
    ensure_initialized();
    if (!memsnap_root.shards)
        return -ENOMEM;
    if (tracing_enabled())
        return 0;
    __atomic_store_n(&memsnap_root.traceback_limit, nframes, __ATOMIC_RELAXED);
    __atomic_fetch_or(&memsnap_root.state, MEMSNAP_STATE_TRACING, __ATOMIC_ACQ_REL);
    publish_state();
    return 0;
}

int memsnap_stop(void)
{
    GUARDED({
        __atomic_fetch_and(&memsnap_root.state,
                           ~(MEMSNAP_STATE_TRACING | MEMSNAP_STATE_TRUNCATED), __ATOMIC_ACQ_REL);
        publish_state();
        __atomic_store_n(&hot.skipping, 0, __ATOMIC_RELAXED); /* not tracing: by choice */
        table_clear_all();
    });
    return 0;
}

int memsnap_is_tracing(void)
{
    ensure_initialized();
    return tracing_enabled();
}

int memsnap_get_traceback_limit(void)
{
    ensure_initialized();
    return (int)memsnap_root.traceback_limit;
}

int memsnap_get_traced_memory(size_t *current, size_t *peak)
{
    ensure_initialized();
    int on = tracing_enabled();
    uint64_t now = on ? __atomic_load_n(&memsnap_root.current_bytes, __ATOMIC_RELAXED) : 0;
    uint64_t high = on ? __atomic_load_n(&memsnap_root.peak_bytes, __ATOMIC_RELAXED) : 0;
    if (high < now)
        high = now; /* a writer between its add and its peak update */
    if (current)
        *current = now;
    if (peak)
        *peak = high;
    return 0;
}

int memsnap_reset_peak(void)
{
    ensure_initialized();
    uint64_t now = __atomic_load_n(&memsnap_root.current_bytes, __ATOMIC_RELAXED);
    __atomic_store_n(&memsnap_root.peak_bytes, now, __ATOMIC_RELAXED);
    return 0;
}

int memsnap_clear_traces(void)
{
    GUARDED(table_clear_all());
    return 0;
}

size_t memsnap_get_runtime_memory(void)
{
    ensure_initialized();
    return __atomic_load_n(&memsnap_root.runtime_bytes, __ATOMIC_RELAXED);
}

int memsnap_track(unsigned domain, uintptr_t ptr, size_t size)
{
    int rc;
    GUARDED(rc = tracer_track(domain, ptr, size));
    return rc;
}

int memsnap_untrack(unsigned domain, uintptr_t ptr)
{
    int rc;
    GUARDED(rc = tracer_untrack(domain, ptr));
    return rc;
}
