/* json_text_test.c: the raw-text NUL scanner (runtime/base/json_text.c):
 * what it finds (\u0000 escapes, raw NUL bytes), what it must not take for
 * one (escaped backslashes, other escapes, surrogates), where it says the
 * NUL is (byte offset, JSON path), and that it stays inside len. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"
#include "molt/errno.h"

/* Text given with a length, so that raw NULs can be part of it. */
static molt_json_nul_t find(const char* text, size_t len, size_t* at, char* path) {
  return molt__json_text_find_nul(text, len, at, path, 256);
}

static molt_json_nul_t find_s(const char* text, size_t* at, char* path) {
  return find(text, strlen(text), at, path);
}

static void expect_none(const char* text) {
  size_t at = 999;
  char path[256] = "x";

  cr_expect_eq(find_s(text, &at, path), MOLT_JSON_NUL_NONE, "found a NUL in %s", text);
  cr_expect_str_eq(path, "", "%s", text);
}

Test(json_text, an_escaped_nul_in_a_value_is_found_with_its_path_and_offset) {
  const char* text = "{\"cmd\":\"stop\\u0000\"}";
  size_t at = 0;
  char path[256];

  cr_assert_eq(find_s(text, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, strlen("{\"cmd\":\"stop"));
  cr_expect_str_eq(path, "cmd");
}

Test(json_text, the_path_follows_arrays_and_nested_objects) {
  const char* text = "{\"name\":\"demo\",\"modules\":[{\"name\":\"a\",\"file\":\"a.so\"},"
                     "{\"name\":\"b\",\"file\":\"b.so\\u0000../../x.so\"}]}";
  size_t at = 0;
  char path[256];

  cr_assert_eq(find_s(text, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_str_eq(path, "modules[1].file");
  cr_expect_eq(at, (size_t)(strstr(text, "\\u0000") - text));
}

Test(json_text, arrays_of_scalars_and_strings_holding_brackets_and_commas) {
  /* Brackets, braces, commas and escaped quotes inside strings are not
   * structure; the path must not move for them. */
  const char* text = "{\"a\":[1,\"x,]}\\\"{[\",{\"b\":[null,\"\\u0000\"]}]}";
  size_t at = 0;
  char path[256];

  cr_assert_eq(find_s(text, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_str_eq(path, "a[2].b[1]");
}

Test(json_text, a_nul_in_a_key_names_the_object_holding_it) {
  size_t at = 0;
  char path[256];

  cr_assert_eq(find_s("{\"args\":{\"actor\\u0000x\":\"counter\"}}", &at, path), MOLT_JSON_NUL_KEY);
  cr_expect_str_eq(path, "args");
  cr_assert_eq(find_s("{\"cm\\u0000d\":\"status\"}", &at, path), MOLT_JSON_NUL_KEY);
  cr_expect_str_eq(path, "");
  cr_expect_eq(at, 4);
}

Test(json_text, a_second_member_after_a_comma_is_a_key_again) {
  size_t at = 0;
  char path[256];

  cr_assert_eq(find_s("{\"a\":\"x\",\"b\\u0000\":1}", &at, path), MOLT_JSON_NUL_KEY);
  cr_assert_eq(find_s("{\"a\":\"x\",\"b\":\"\\u0000\"}", &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_str_eq(path, "b");
}

Test(json_text, escaped_backslashes_are_not_escapes) {
  /* "\\u0000" is a backslash and the text u0000; "\\\\u0000" two
   * backslashes and the text. */
  expect_none("{\"cmd\":\"stop\\\\u0000\"}");
  expect_none("{\"cmd\":\"stop\\\\\\\\u0000\"}");
  expect_none("[\"\\\\\",\"u0000\"]");
  /* Three: an escaped backslash, then a real \u0000. */
  size_t at = 0;
  char path[256];
  const char* text = "[\"\\\\\\u0000\"]";
  cr_assert_eq(find_s(text, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, 4);
  cr_expect_str_eq(path, "[0]");
}

Test(json_text, only_four_zero_digits_make_a_nul_and_surrogates_are_not_one) {
  expect_none("[\"\\u0001\",\"\\u0010\",\"\\u0100\",\"\\u1000\",\"\\u000a\",\"\\u000\"]");
  expect_none("[\"\\uD800\\uDC00\",\"\\ud83d\\ude00\",\"\\uDBFF\\uDFFF\"]");
  expect_none("[\"\\\"\",\"\\/\",\"\\b\\f\\n\\r\\t\"]");
  /* A high surrogate followed by \u0000 is no pair: the NUL is still one
   * (cJSON refuses the pair, but the scanner must not be fooled by it). */
  size_t at = 0;
  char path[256];
  cr_assert_eq(find_s("[\"\\uD800\\u0000\"]", &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, 8);
  /* \u00000 is a NUL followed by '0'. */
  cr_assert_eq(find_s("[\"\\u00000\"]", &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, 2);
}

Test(json_text, outside_strings_the_text_u0000_is_not_a_string) {
  /* Not JSON, but nothing a string could decode to a NUL. */
  expect_none("{\"a\":1} \\u0000");
  expect_none("");
}

Test(json_text, a_raw_nul_inside_a_string_is_found) {
  static const char text[] = "{\"cmd\":\"status\0x\"}";
  size_t at = 0;
  char path[256];

  cr_assert_eq(find(text, sizeof text - 1, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, 14);
  cr_expect_str_eq(path, "cmd");
}

Test(json_text, a_raw_nul_right_after_a_backslash_is_found) {
  static const char text[] = "[\"a\\\0\"]";
  size_t at = 0;
  char path[256];

  cr_assert_eq(find(text, sizeof text - 1, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, 4);
}

Test(json_text, a_raw_nul_between_tokens_is_found) {
  /* cJSON skips every byte up to ' ' as blank, NUL included. */
  static const char text[] = "{\"cmd\":\0\"stop\"}";
  size_t at = 0;
  char path[256];

  cr_assert_eq(find(text, sizeof text - 1, &at, path), MOLT_JSON_NUL_OUTSIDE);
  cr_expect_eq(at, 7);
  cr_expect_str_eq(path, "cmd");
  static const char after[] = "{\"cmd\":\"stop\"}\0";
  cr_assert_eq(find(after, sizeof after - 1, &at, path), MOLT_JSON_NUL_OUTSIDE);
  cr_expect_str_eq(path, "");
}

Test(json_text, the_first_nul_is_the_one_reported) {
  static const char text[] = "[\"a\",\"\\u0000\",\"\0\"]";
  size_t at = 0;
  char path[256];

  cr_assert_eq(find(text, sizeof text - 1, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, 6);
  cr_expect_str_eq(path, "[1]");
}

Test(json_text, nothing_past_len_is_read) {
  /* The NUL escape and raw byte lie beyond len: not found. An escape cut
   * by len is not one either. Each copy is exactly len bytes on the heap,
   * so ASan sees a read past the end. */
  static const char* texts[] = {"[\"ab\\u0000\"]", "[\"ab\\u000", "[\"ab\\", "{\"k\\u", "{\"k"};
  static const size_t lens[] = {5, 9, 5, 5, 3};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    char* copy = malloc(lens[i]);
    size_t at = 0;
    char path[256];

    memcpy(copy, texts[i], lens[i]);
    cr_expect_eq(find(copy, lens[i], &at, path), MOLT_JSON_NUL_NONE, "%zu", i);
    free(copy);
  }
}

Test(json_text, keys_in_the_path_are_decoded_and_odd_ones_quoted) {
  size_t at = 0;
  char path[256];

  cr_assert_eq(find_s("{\"a\\u0062\":{\"sp ace\":{\"\\u00e9\":\"\\u0000\"}}}", &at, path),
               MOLT_JSON_NUL_VALUE);
  cr_expect_str_eq(path, "ab[\"sp ace\"][\"\\xc3\\xa9\"]");
}

Test(json_text, unbalanced_or_deep_text_still_gives_a_path) {
  size_t at = 0;
  char path[256];

  cr_assert_eq(find_s("]]}{\"a\":[\"\\u0000", &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_str_eq(path, "a[0]");

  /* Deeper than the scanner records: the path ends in "...". */
  char deep[400];
  size_t n = 0;
  for (int i = 0; i < 100; i++) deep[n++] = '[';
  strcpy(deep + n, "\"\\u0000\"");
  cr_assert_eq(find_s(deep, &at, path), MOLT_JSON_NUL_VALUE);
  cr_expect_eq(at, 101);
  cr_expect(strstr(path, "[0][0]") == path, "%s", path);
  cr_expect(strlen(path) > 3 && strcmp(path + strlen(path) - 3, "...") == 0, "%s", path);
}

Test(json_text, refuse_writes_one_line_with_the_callers_code) {
  char err[256];

  cr_assert_eq(molt__json_text_refuse_nul("{\"a\":1}", 7, MOLT_EBADREQ, err, sizeof err), 0);
  const char* m = "{\"modules\":[{\"file\":\"x.so\\u0000y\"}]}";
  cr_assert_eq(molt__json_text_refuse_nul(m, strlen(m), MOLT_EMANIFEST, err, sizeof err),
               MOLT_EMANIFEST);
  cr_expect_str_eq(err, "modules[0].file: string contains a NUL character (at byte offset 25)");
  const char* k = "{\"cmd\\u0000\":1}";
  cr_assert_eq(molt__json_text_refuse_nul(k, strlen(k), MOLT_EBADREQ, err, sizeof err),
               MOLT_EBADREQ);
  cr_expect_str_eq(err, "top level: key contains a NUL character (at byte offset 5)");
  static const char raw[] = "{}\0";
  cr_assert_eq(molt__json_text_refuse_nul(raw, 3, MOLT_EBADREQ, err, sizeof err), MOLT_EBADREQ);
  cr_expect_str_eq(err, "top level: NUL byte in the JSON text (at byte offset 2)");
}
