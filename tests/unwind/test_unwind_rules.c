/*
 * The DWARF unwinder's compact rules (runtime/unwind_rules.h): every field
 * reads back what rule_make wrote, at its extremes, and the "plain" bit —
 * the walk's cue to check only the CFA's upper bound (runtime/unwind_dwarf.c)
 * — is set exactly for rsp-based steps whose CFA lies a positive multiple
 * of 8 above rsp and whose saved registers lie in the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unwind_rules.h"

static uint64_t step(unsigned base, unsigned deref, int64_t cfa_off, unsigned rbp_how,
                     int64_t rbp_slot, unsigned rbx_how, int64_t rbx_slot)
{
    return rule_make(RULE_STEP, base, deref, cfa_off, rbp_how, rbp_slot, rbx_how, rbx_slot);
}

static void fields_read_back(void **state)
{
    (void)state;
    const int64_t offs[] = {CFA_OFF_MIN, -8, 0, 8, 16, 70008, CFA_OFF_MAX};
    const int64_t slots[] = {SLOT12_MIN, -3, -1, 0, 1, SLOT12_MAX};
    for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++)
        for (unsigned j = 0; j < sizeof slots / sizeof slots[0]; j++)
            for (unsigned k = 0; k < sizeof slots / sizeof slots[0]; k++) {
                uint64_t r = rule_make(RULE_STEP, BASE_RBX, 1, offs[i], SAVED_AT, slots[j],
                                       SAVED_SAME, slots[k]);
                assert_int_equal(RULE_KIND(r), RULE_STEP);
                assert_int_equal(RULE_BASE(r), BASE_RBX);
                assert_int_equal(RULE_DEREF(r), 1);
                assert_true(RULE_CFA_OFF(r) == offs[i]);
                assert_int_equal(RULE_RBP_HOW(r), SAVED_AT);
                assert_true(RULE_RBP_OFF(r) == slots[j] * 8);
                assert_int_equal(RULE_RBX_HOW(r), SAVED_SAME);
                assert_true(RULE_RBX_OFF(r) == slots[k] * 8);
                assert_int_equal(RULE_IN_RUNTIME(r), 0);
                assert_int_equal(RULE_IN_RUNTIME(r | RULE_RUNTIME_BIT), 1);
                assert_true(RULE_CFA_OFF(r | RULE_RUNTIME_BIT) == offs[i]);
            }
}

static void plain_exactly_when_only_the_top_needs_checking(void **state)
{
    (void)state;
    /* plain: rsp-based, positive multiple of 8, saved slots in [rsp, CFA-8] */
    assert_true(step(BASE_RSP, 0, 8, SAVED_SAME, 0, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    assert_true(step(BASE_RSP, 0, 64, SAVED_AT, -2, SAVED_AT, -8) & RULE_PLAIN_BIT);
    assert_true(step(BASE_RSP, 0, 16, SAVED_AT, -2, SAVED_AT, -1) & RULE_PLAIN_BIT);
    /* not plain: the walk's general checks apply */
    assert_false(step(BASE_RSP, 0, 0, SAVED_SAME, 0, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    assert_false(step(BASE_RSP, 0, -8, SAVED_SAME, 0, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    assert_false(step(BASE_RSP, 0, 12, SAVED_SAME, 0, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    assert_false(step(BASE_RSP, 1, 16, SAVED_SAME, 0, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    assert_false(step(BASE_RBP, 0, 16, SAVED_AT, -2, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    assert_false(step(BASE_RBX, 0, 16, SAVED_SAME, 0, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    /* a saved register below rsp (red zone) or at/above the CFA */
    assert_false(step(BASE_RSP, 0, 16, SAVED_AT, -3, SAVED_SAME, 0) & RULE_PLAIN_BIT);
    assert_false(step(BASE_RSP, 0, 16, SAVED_SAME, 0, SAVED_AT, 0) & RULE_PLAIN_BIT);
    assert_false(step(BASE_RSP, 0, 16, SAVED_SAME, 0, SAVED_AT, 1) & RULE_PLAIN_BIT);
    /* a slot's value does not matter when the register is not saved */
    assert_true(step(BASE_RSP, 0, 16, SAVED_SAME, 5, SAVED_SAME, -9) & RULE_PLAIN_BIT);
    /* other kinds never are */
    assert_false(rule_make(RULE_END, 0, 0, 0, 0, 0, 0, 0) & RULE_PLAIN_BIT);
    assert_false(rule_make(RULE_SIGNAL, 0, 0, 0, 0, 0, 0, 0) & RULE_PLAIN_BIT);
    assert_false(rule_make(RULE_STOP, 0, 0, 0, 0, 0, 0, 0) & RULE_PLAIN_BIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_read_back),
        cmocka_unit_test(plain_exactly_when_only_the_top_needs_checking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
