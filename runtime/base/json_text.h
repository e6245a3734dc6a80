/* json_text.h: checks on raw JSON text that the parsed tree can no longer
 * make. cJSON decodes "\u0000" (and copies a raw NUL byte inside a string)
 * into a C string that simply ends there, so {"cmd":"stop\u0000x"} would
 * read as "stop": the text has to be looked at before it is trusted. Not a
 * parser (cJSON stays the authority on well-formedness) and not the walk
 * over a parsed tree (jsonpath.h). */
#ifndef MOLT_BASE_JSON_TEXT_H
#define MOLT_BASE_JSON_TEXT_H

#include <stddef.h>

/* Where a NUL was found. */
typedef enum {
  MOLT_JSON_NUL_NONE = 0,
  MOLT_JSON_NUL_VALUE,   /* in a string value */
  MOLT_JSON_NUL_KEY,     /* in an object member's key */
  MOLT_JSON_NUL_OUTSIDE, /* a raw NUL byte between tokens (cJSON skips it as blank) */
} molt_json_nul_t;

/* Find the first NUL in text[0, len): a \u0000 escape inside a string
 * (an escaped backslash, as in "\\u0000", is not one) or a raw NUL byte
 * anywhere. Returns where it is, MOLT_JSON_NUL_NONE if there is none. On a
 * find, *offset is the byte offset of the escape's backslash or of the raw
 * byte, and path (if not NULL) receives the JSON path of the string (for a
 * key: of the object holding it), e.g. "modules[0].file", or "" for the
 * top level. Any bytes may be given: text that is not JSON is scanned as
 * far as it goes and the path is then a best guess. */
molt_json_nul_t molt__json_text_find_nul(const char* text, size_t len, size_t* offset, char* path,
                                         size_t pathlen);

/* 0 if text[0, len) holds no NUL (as above); else code, with the one-line
 * reason "<path>: string contains a NUL character (byte N)" in err (or "key
 * contains", or "NUL byte in the JSON text"; "top level" for the empty
 * path). code is the caller's: MOLT_EBADREQ for a request, MOLT_EMANIFEST
 * for a manifest. */
int molt__json_text_refuse_nul(const char* text, size_t len, int code, char* err, size_t errlen);

#endif
