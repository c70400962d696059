/*
 * The layout contract: every entry of the field table the runtime exports
 * equals offsetof/sizeof from include/memsnap/layout.h (and every field of
 * MEMSNAP_FIELDS/MEMSNAP_RECORDS is there, in order), the fixed header is
 * right, memsnap_root is exported by name, and the mapping list adds up to
 * root.runtime_bytes exactly.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "field_size.h"
#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

struct expected_field {
    const char *name;
    uint32_t offset, size;
};

static const struct expected_field expected[] = {
#define RECORD_ENTRY(rec) {#rec, 0, sizeof(struct memsnap_##rec)},
#define FIELD_ENTRY(rec, fld) \
    {#rec "." #fld, offsetof(struct memsnap_##rec, fld), MEMSNAP_FIELD_SIZE(rec, fld)},
    MEMSNAP_RECORDS(RECORD_ENTRY) MEMSNAP_FIELDS(FIELD_ENTRY)
};

static void test_fixed_header(void **state)
{
    (void)state;
    assert_int_equal(memsnap_root.magic, MEMSNAP_MAGIC);
    assert_memory_equal(&memsnap_root.magic, "MEMSNAP", 8);
    assert_int_equal(memsnap_root.major, MEMSNAP_LAYOUT_MAJOR);
    assert_int_equal(memsnap_root.minor, MEMSNAP_LAYOUT_MINOR);
    assert_int_equal(memsnap_root.root_size, sizeof(struct memsnap_root));
    assert_int_equal(memsnap_root.field_size, sizeof(struct memsnap_field));
    assert_int_equal(memsnap_root.fields_count, sizeof expected / sizeof expected[0]);
    assert_int_equal(memsnap_root.max_frames, MEMSNAP_MAX_FRAMES);
    assert_int_equal(memsnap_root.site_id_bits, MEMSNAP_SITE_ID_BITS);
    assert_true(memsnap_root.state & MEMSNAP_STATE_INITIALIZED);
    assert_int_not_equal(memsnap_root.fields, 0);
    assert_int_equal(memsnap_root.counters_per_page, MEMSNAP_COUNTERS_PER_PAGE);
    assert_true(memsnap_root.fold_bytes > 0);
}

static void test_every_field_matches_the_header(void **state)
{
    (void)state;
    const struct memsnap_field *table = (const struct memsnap_field *)(uintptr_t)memsnap_root.fields;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        char name[sizeof table[i].name + 1] = {0};
        memcpy(name, table[i].name, sizeof table[i].name);
        assert_string_equal(name, expected[i].name);
        assert_int_equal(table[i].offset, expected[i].offset);
        assert_int_equal(table[i].size, expected[i].size);
        /* names are NUL-padded */
        for (size_t k = strlen(name); k < sizeof table[i].name; k++)
            assert_int_equal(table[i].name[k], 0);
    }
}

static void test_flexible_arrays_state_element_size(void **state)
{
    (void)state;
    uint32_t offset, size;
    assert_int_equal(reader_field(own_reader(), "site.pcs", &offset, &size), 0);
    assert_int_equal(offset, 32);
    assert_int_equal(size, 8);
    assert_int_equal(reader_field(own_reader(), "chunk.slot", &offset, &size), 0);
    assert_int_equal(offset, 128);
    assert_int_equal(size, 16);
    assert_int_equal(reader_field(own_reader(), "counters.page", &offset, &size), 0);
    assert_int_equal(offset, 16);
    assert_int_equal(size, 8);
}

static void test_root_is_exported_by_name(void **state)
{
    (void)state;
    void *self = dlopen(NULL, RTLD_NOW);
    assert_ptr_equal(dlsym(self, MEMSNAP_ROOT_SYMBOL), &memsnap_root);
    dlclose(self);
}

static void test_mappings_add_up_to_runtime_bytes(void **state)
{
    (void)state;
    assert_int_equal(memsnap_start(8), 0);
    void *blocks[1000];
    for (int i = 0; i < 1000; i++)
        blocks[i] = malloc(24);
    uint64_t sum = 0;
    for (uint64_t m = memsnap_root.mappings; m; m = ((struct memsnap_mapping *)(uintptr_t)m)->next) {
        const struct memsnap_mapping *mapping = (const struct memsnap_mapping *)(uintptr_t)m;
        assert_true(mapping->kind >= MEMSNAP_MAP_DEPOT && mapping->kind <= MEMSNAP_MAP_MISC);
        assert_true(mapping->used <= mapping->size);
        assert_int_equal(mapping->size % 4096, 0);
        sum += mapping->size;
    }
    assert_int_equal(sum, memsnap_root.runtime_bytes);
    assert_int_equal(sum, memsnap_get_runtime_memory());
    for (int i = 0; i < 1000; i++)
        free(blocks[i]);
    memsnap_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_header),
        cmocka_unit_test(test_every_field_matches_the_header),
        cmocka_unit_test(test_flexible_arrays_state_element_size),
        cmocka_unit_test(test_root_is_exported_by_name),
        cmocka_unit_test(test_mappings_add_up_to_runtime_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
