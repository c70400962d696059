/*
 * C++ allocation: every operator new form (plain, array, nothrow, aligned,
 * aligned nothrow) records the requested size and every operator delete
 * form (plain, sized, aligned, sized aligned, nothrow) forgets the block; a
 * failing new still throws std::bad_alloc and calls the new_handler (the
 * real operator new's behaviour), a failing nothrow new returns nullptr.
 */
#include <cstddef>
#include <cstdint>
#include <new>

extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"
}

namespace {

int start(void **)
{
    return memsnap_start(8);
}

int stop(void **)
{
    return memsnap_stop();
}

std::uint64_t traced_size(const void *ptr)
{
    read_block block;
    if (!find_block(reinterpret_cast<std::uintptr_t>(ptr), MEMSNAP_DOMAIN_HEAP, &block))
        fail_msg("%p is not traced", ptr);
    return block.size;
}

bool traced(std::uintptr_t addr)
{
    return find_block(addr, MEMSNAP_DOMAIN_HEAP, nullptr) != 0;
}

struct alignas(128) Wide {
    unsigned char bytes[128];
};

void test_plain_and_array_forms(void **)
{
    void *a = ::operator new(40);
    assert_int_equal(traced_size(a), 40);
    std::uintptr_t at = reinterpret_cast<std::uintptr_t>(a);
    ::operator delete(a);
    assert_false(traced(at));

    void *b = ::operator new[](72);
    assert_int_equal(traced_size(b), 72);
    at = reinterpret_cast<std::uintptr_t>(b);
    ::operator delete[](b);
    assert_false(traced(at));

    void *c = ::operator new(24);
    at = reinterpret_cast<std::uintptr_t>(c);
    ::operator delete(c, std::size_t(24)); /* sized */
    assert_false(traced(at));

    void *d = ::operator new[](24);
    at = reinterpret_cast<std::uintptr_t>(d);
    ::operator delete[](d, std::size_t(24));
    assert_false(traced(at));

    void *e = ::operator new(8, std::nothrow);
    assert_int_equal(traced_size(e), 8);
    at = reinterpret_cast<std::uintptr_t>(e);
    ::operator delete(e, std::nothrow);
    assert_false(traced(at));

    void *f = ::operator new[](9, std::nothrow);
    assert_int_equal(traced_size(f), 9);
    at = reinterpret_cast<std::uintptr_t>(f);
    ::operator delete[](f, std::nothrow);
    assert_false(traced(at));
}

void test_aligned_forms(void **)
{
    const std::align_val_t al{256};
    void *a = ::operator new(100, al);
    assert_int_equal(reinterpret_cast<std::uintptr_t>(a) % 256, 0);
    assert_int_equal(traced_size(a), 100);
    std::uintptr_t at = reinterpret_cast<std::uintptr_t>(a);
    ::operator delete(a, al);
    assert_false(traced(at));

    void *b = ::operator new[](300, al);
    assert_int_equal(reinterpret_cast<std::uintptr_t>(b) % 256, 0);
    assert_int_equal(traced_size(b), 300);
    at = reinterpret_cast<std::uintptr_t>(b);
    ::operator delete[](b, std::size_t(300), al);
    assert_false(traced(at));

    void *c = ::operator new(10, al, std::nothrow);
    assert_int_equal(traced_size(c), 10);
    at = reinterpret_cast<std::uintptr_t>(c);
    ::operator delete(c, al, std::nothrow);
    assert_false(traced(at));

    void *d = ::operator new[](11, al, std::nothrow);
    assert_int_equal(traced_size(d), 11);
    at = reinterpret_cast<std::uintptr_t>(d);
    ::operator delete[](d, al, std::nothrow);
    assert_false(traced(at));

    void *e = ::operator new(12, al);
    at = reinterpret_cast<std::uintptr_t>(e);
    ::operator delete(e, std::size_t(12), al);
    assert_false(traced(at));

    Wide *w = new Wide();
    assert_int_equal(reinterpret_cast<std::uintptr_t>(w) % 128, 0);
    assert_int_equal(traced_size(w), sizeof(Wide));
    delete w;
}

int handler_calls;

void give_up()
{
    handler_calls++;
    std::set_new_handler(nullptr); /* next failure throws */
}

/* True when calling `allocate` throws std::bad_alloc. */
template <typename F> bool throws_bad_alloc(F allocate)
{
    try {
        allocate();
    } catch (const std::bad_alloc &) {
        return true;
    }
    return false;
}

void test_failure_paths(void **)
{
    const std::size_t huge = SIZE_MAX / 2;
    assert_null(::operator new(huge, std::nothrow));
    assert_null(::operator new[](huge, std::nothrow));
    auto plain = [&] { ::operator delete(::operator new(huge)); };
    auto aligned_array = [&] {
        ::operator delete[](::operator new[](huge, std::align_val_t{64}), std::align_val_t{64});
    };
    assert_true(throws_bad_alloc(plain));
    assert_true(throws_bad_alloc(aligned_array));
    std::set_new_handler(give_up);
    assert_true(throws_bad_alloc(plain));
    assert_int_equal(handler_calls, 1);
}

} // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_and_array_forms, start, stop),
        cmocka_unit_test_setup_teardown(test_aligned_forms, start, stop),
        cmocka_unit_test_setup_teardown(test_failure_paths, start, stop),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
