/*
 * The block header's cookie (runtime/block_header.h) alone, built without
 * the rest of the runtime: a header the hooks wrote passes and carries
 * OWN_HEADER_MARK (free's first test), and no other 16 bytes in front of a
 * pointer pass — random words, small integers like a real allocator's
 * chunk header (which never carry the mark), a real header moved to
 * another pointer or with another link, or one erased before the block
 * went back.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>

#include <cmocka.h>

#include "block_header.h"

struct runtime_hot hot;

struct fake_block {
    struct block_header h;
    unsigned char user[16];
};

static void test_written_headers_pass(void **state)
{
    (void)state;
    static struct fake_block b;
    uint64_t link = 0;
    header_write(b.user, 0x7f0012345670ULL | 4ULL << LINK_SHIFT_BITS);
    assert_true(has_own_mark(b.user));
    assert_true(header_read(b.user, &link));
    assert_int_equal(link, 0x7f0012345670ULL | 4ULL << LINK_SHIFT_BITS);
    assert_int_equal(link_offset(link), 16);
    header_erase(b.user);
    assert_false(has_own_mark(b.user));
    assert_false(header_read(b.user, &link));
}

static void test_nothing_else_passes(void **state)
{
    (void)state;
    static struct fake_block b[4];
    uint64_t x = hot.cookie_key | 1, matches = 0, link;
    for (int i = 0; i < 4000000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        struct fake_block *f = &b[i & 3];
        switch (i % 4) {
        case 0: /* random words */
            f->h.link = x, f->h.cookie = x * 0x9E3779B97F4A7C15ULL;
            break;
        case 1: /* a chunk header: previous size, size | flags */
            f->h.link = (uint64_t)(i & 0xfff0), f->h.cookie = (uint64_t)(i & 0xfff0) | (i & 7);
            assert_false(has_own_mark(f->user));
            break;
        case 2: /* a header written for another pointer */
            header_write(b[(i + 1) & 3].user, x);
            f->h = b[(i + 1) & 3].h;
            break;
        default: /* a header whose link changed */
            header_write(f->user, x);
            f->h.link ^= 1ULL << (i % 64);
            break;
        }
        matches += header_read(f->user, &link);
    }
    assert_int_equal(matches, 0);
}

int main(void)
{
    if (getrandom(&hot.cookie_key, sizeof hot.cookie_key, 0) != sizeof hot.cookie_key)
        return 1;
    hot.cookie_key |= 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_headers_pass),
        cmocka_unit_test(test_nothing_else_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
