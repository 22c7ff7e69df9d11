/* test_hex.c - hex.h: encoding, four-digit codes, decoding and its refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tlsinspect/hex.h"

static void test_encode(void **state)
{
    static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];

    (void)state;
    memset(out, 'x', sizeof(out));
    hex_encode(in, sizeof(in), out);
    assert_string_equal(out, "00017f80abff");
    hex_encode(in, 0, out);
    assert_string_equal(out, "");
    assert_int_equal(hex_digit(10), 'a');
    assert_int_equal(hex_digit(0x1f), 'f');      /* the low four bits only */
    assert_int_equal(hex_digit_uc(0x1b), 'B');
}

static void test_u16(void **state)
{
    char out[5] = "....";

    (void)state;
    hex_u16(0x1301, out);
    assert_string_equal(out, "1301");
    hex_u16(0xcafe, out);
    assert_string_equal(out, "cafe");
    hex_u16(0x000a, out);
    assert_string_equal(out, "000a");
}

static void test_decode(void **state)
{
    uint8_t out[4];

    (void)state;
    assert_int_equal(hex_decode("00ffA0b1", 8, out, sizeof(out)), 4);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0xa0);
    assert_int_equal(out[3], 0xb1);
    assert_int_equal(hex_decode("0a", 2, out, 1), 1);
    assert_int_equal(out[0], 0x0a);
    /* refusals: empty, odd, not hex, too long for out */
    assert_int_equal(hex_decode("", 0, out, sizeof(out)), -1);
    assert_int_equal(hex_decode("abc", 3, out, sizeof(out)), -1);
    assert_int_equal(hex_decode("0g", 2, out, sizeof(out)), -1);
    assert_int_equal(hex_decode("g0", 2, out, sizeof(out)), -1);
    assert_int_equal(hex_decode(" 0", 2, out, sizeof(out)), -1);
    assert_int_equal(hex_decode("0011223344", 10, out, sizeof(out)), -1);
    assert_int_equal(hex_value('F'), 15);
    assert_int_equal(hex_value('/'), -1);
    assert_int_equal(hex_value(':'), -1);
    assert_int_equal(hex_value('@'), -1);
    assert_int_equal(hex_value('G'), -1);
}

/* Every byte value survives encoding and decoding. */
static void test_round_trip(void **state)
{
    uint8_t in[256], back[256];
    char text[513];

    (void)state;
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    hex_encode(in, sizeof(in), text);
    assert_int_equal(strlen(text), 512);
    assert_int_equal(hex_decode(text, 512, back, sizeof(back)), 256);
    assert_memory_equal(in, back, sizeof(in));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_u16),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
