/* json_text.c: finding a NUL that cJSON would decode into a C string cut
 * short, on the raw text, with the JSON path of the string it is in. A
 * byte scanner that follows strings, escapes and nesting; it never decides
 * whether the text is JSON (cJSON does) and never reads past len. */
#include "json_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"
#include "jsonpath.h"

/* Containers deeper than this are counted but not recorded: the path only
 * feeds a message, and jsonpath's buffer would cut it shorter anyway. */
#define DEPTH 64
#define NO_KEY SIZE_MAX

typedef struct {
  char kind;     /* '{' or '[' */
  bool want_key; /* '{': the next string is a member's key */
  size_t index;  /* '[': the current element */
  size_t key;    /* '{': offset of the current member's raw key, or NO_KEY */
  size_t keylen;
} frame_t;

typedef struct {
  const char* text;
  size_t len;
  frame_t f[DEPTH];
  size_t depth; /* may exceed DEPTH; frames past it are not in f */
} scan_t;

static frame_t* top(scan_t* s) {
  return s->depth > 0 && s->depth <= DEPTH ? &s->f[s->depth - 1] : NULL;
}

static void push(scan_t* s, char kind) {
  if (s->depth < DEPTH)
    s->f[s->depth] = (frame_t){.kind = kind, .want_key = kind == '{', .key = NO_KEY};
  s->depth++;
}

/* A bracket that does not match is cJSON's to refuse; here it only closes
 * whatever is open, so the scan goes on. */
static void pop(scan_t* s) {
  if (s->depth > 0) s->depth--;
}

static void comma(scan_t* s) {
  frame_t* t = top(s);

  if (!t) return;
  if (t->kind == '[') {
    t->index++;
  } else {
    t->want_key = true;
    t->key = NO_KEY;
  }
}

static bool is_nul_escape(const char* p, size_t room) {
  return room >= 6 && p[0] == '\\' && p[1] == 'u' && memcmp(p + 2, "0000", 4) == 0;
}

/* Scan the string whose opening quote is at *i; leave *i on its closing
 * quote (or at len). On a NUL, return true with its offset in *at. */
static bool string_nul(const scan_t* s, size_t* i, size_t* at) {
  size_t k = *i + 1;

  while (k < s->len && s->text[k] != '"') {
    if (s->text[k] == '\0') {
      *at = k;
      return true;
    }
    if (s->text[k] != '\\') {
      k++;
      continue;
    }
    /* The escape's second byte is skipped with it, so the second
     * backslash of "\\u0000" never starts an escape of its own. */
    if (is_nul_escape(s->text + k, s->len - k)) {
      *at = k;
      return true;
    }
    if (k + 1 < s->len && s->text[k + 1] == '\0') {
      *at = k + 1;
      return true;
    }
    k += 2;
  }
  *i = k < s->len ? k : s->len;
  return false;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at p (room bytes left), or -1. */
static long hex4(const char* p, size_t room) {
  long v = 0;
  int d;

  if (room < 4) return -1;
  for (int j = 0; j < 4; j++) {
    if ((d = hexval(p[j])) < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

static size_t put_utf8(char* out, size_t o, size_t cap, unsigned long cp) {
  char b[4];
  size_t n;

  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xc0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    b[0] = (char)(0xf0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  if (o + n >= cap) return o;
  memcpy(out + o, b, n);
  return o + n;
}

static size_t put_byte(char* out, size_t o, size_t cap, char c) {
  if (o + 1 >= cap) return o;
  out[o] = c;
  return o + 1;
}

/* One escape at raw[*k] (its backslash) decoded into out; *k moves past it.
 * Bad escapes are cJSON's to refuse: here they are shown as they are. */
static size_t unescape(const char* raw, size_t n, size_t* k, char* out, size_t o, size_t cap) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char* e = *k + 1 < n && raw[*k + 1] ? strchr(from, raw[*k + 1]) : NULL;
  long cp, lo;

  if (e) {
    *k += 2;
    return put_byte(out, o, cap, to[e - from]);
  }
  if (*k + 1 < n && raw[*k + 1] == 'u' && (cp = hex4(raw + *k + 2, n - *k - 2)) >= 0) {
    *k += 6;
    /* A high surrogate followed by a low one is one code point. */
    if (cp >= 0xd800 && cp <= 0xdbff && *k + 1 < n && raw[*k] == '\\' && raw[*k + 1] == 'u' &&
        (lo = hex4(raw + *k + 2, n - *k - 2)) >= 0xdc00 && lo <= 0xdfff) {
      *k += 6;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return put_utf8(out, o, cap, (unsigned long)cp);
  }
  *k += 1;
  return put_byte(out, o, cap, '\\');
}

/* A recorded key holds no NUL (the scan stops at the first), so its
 * decoding is a C string. Long keys are cut: they only feed a message. */
static void key_decode(const char* raw, size_t n, char* out, size_t cap) {
  size_t k = 0, o = 0;

  while (k < n && o + 1 < cap) {
    if (raw[k] == '\\')
      o = unescape(raw, n, &k, out, o, cap);
    else
      out[o++] = raw[k++];
  }
  out[o] = '\0';
}

static void path_write(const scan_t* s, char* path, size_t pathlen) {
  molt_jsonpath_t p;
  char key[256];
  size_t recorded = s->depth < DEPTH ? s->depth : DEPTH;

  molt__jsonpath_init(&p, NULL, 0);
  for (size_t d = 0; d < recorded; d++) {
    const frame_t* f = &s->f[d];
    if (f->kind == '[') {
      molt__jsonpath_index(&p, f->index);
    } else if (f->key != NO_KEY) {
      key_decode(s->text + f->key, f->keylen, key, sizeof key);
      molt__jsonpath_key(&p, key);
    }
  }
  snprintf(path, pathlen, "%s%s", p.buf, s->depth > DEPTH ? "..." : "");
}

static molt_json_nul_t found(const scan_t* s, molt_json_nul_t where, size_t at, size_t* offset,
                             char* path, size_t pathlen) {
  *offset = at;
  if (path && pathlen) path_write(s, path, pathlen);
  return where;
}

molt_json_nul_t molt__json_text_find_nul(const char* text, size_t len, size_t* offset, char* path,
                                         size_t pathlen) {
  scan_t s = {.text = text, .len = len};
  size_t i, at, start;
  frame_t* t;
  bool is_key;

  if (path && pathlen) path[0] = '\0';
  /* Nothing to find is the common case: one memchr-fast pass for the two
   * bytes that can start a NUL, before any bookkeeping. */
  if (!text || (!memchr(text, '\0', len) && !memchr(text, '\\', len))) return MOLT_JSON_NUL_NONE;
  for (i = 0; i < len; i++) {
    switch (text[i]) {
      case '\0': return found(&s, MOLT_JSON_NUL_OUTSIDE, i, offset, path, pathlen);
      case '{':
      case '[': push(&s, text[i]); break;
      case '}':
      case ']': pop(&s); break;
      case ',': comma(&s); break;
      case '"':
        t = top(&s);
        is_key = t && t->kind == '{' && t->want_key;
        start = i + 1;
        if (string_nul(&s, &i, &at))
          return found(&s, is_key ? MOLT_JSON_NUL_KEY : MOLT_JSON_NUL_VALUE, at, offset, path,
                       pathlen);
        if (is_key) {
          t->want_key = false;
          t->key = start;
          t->keylen = i - start;
        }
        break;
      default: break;
    }
  }
  return MOLT_JSON_NUL_NONE;
}

int molt__json_text_refuse_nul(const char* text, size_t len, int code, char* err, size_t errlen) {
  char path[512];
  size_t at = 0;
  const char* what;

  switch (molt__json_text_find_nul(text, len, &at, path, sizeof path)) {
    case MOLT_JSON_NUL_NONE: return 0;
    case MOLT_JSON_NUL_KEY: what = "key contains a NUL character"; break;
    case MOLT_JSON_NUL_VALUE: what = "string contains a NUL character"; break;
    default: what = "NUL byte in the JSON text"; break;
  }
  return molt__errmsg_set(err, errlen, code, "%s: %s (at byte offset %zu)",
                          path[0] ? path : "top level", what, at);
}
