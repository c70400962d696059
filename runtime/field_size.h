/*
 * Size of a field of a layout record as the field table states it: sizeof
 * the field, except for the flexible arrays (site.pcs, chunk.slot,
 * counters.page) whose stated size is one element's. Shared by the runtime
 * (which builds the field table) and the tests (which check it against
 * offsetof/sizeof). Implementation: a field named in
 * MEMSNAP_FAM_<record>_<field> expands to "~, element size", which SECOND()
 * picks instead of the sizeof default.
 */
#ifndef MEMSNAP_RUNTIME_FIELD_SIZE_H
#define MEMSNAP_RUNTIME_FIELD_SIZE_H

#include "memsnap/layout.h"

#define MEMSNAP_FAM_site_pcs ~, sizeof(uint64_t)
#define MEMSNAP_FAM_chunk_slot ~, sizeof(struct memsnap_slot)
#define MEMSNAP_FAM_counters_page ~, sizeof(uint64_t)
#define MEMSNAP_SECOND_(a, b, ...) b
#define MEMSNAP_SECOND(...) MEMSNAP_SECOND_(__VA_ARGS__)
#define MEMSNAP_FIELD_SIZE(rec, fld) \
    MEMSNAP_SECOND(MEMSNAP_FAM_##rec##_##fld, sizeof(((struct memsnap_##rec *)0)->fld), ~)

#endif /* MEMSNAP_RUNTIME_FIELD_SIZE_H */
