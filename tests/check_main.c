/* The test runner: every suite declared in tests/test_*.c (collected into suites.inc by the Makefile).
 * CK_RUN_SUITE / CK_RUN_CASE select one suite or case (Check's own variables); the summary line is printed
 * and the exit status is non-zero when anything fails. */
#include <check.h>
#include <stdlib.h>

#define AA_SUITE(name) Suite *name##_suite(void);
#include "suites.inc"
#undef AA_SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
#define AA_SUITE(name) srunner_add_suite(sr, name##_suite());
#include "suites.inc"
#undef AA_SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
