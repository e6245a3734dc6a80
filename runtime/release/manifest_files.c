/* manifest_files.c: a manifest on disk: reading it, and checking the module
 * files it lists against their digests. Not parsing (manifest.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "fs.h"
#include "manifest.h"
#include "module_file.h"
#include "sha256.h"
#include "molt/errno.h"

/* A manifest is a few kilobytes; a file far larger is a mistake, not a
 * manifest, and is refused without being read whole into memory. */
#define MANIFEST_MAX_BYTES (16u << 20)

/* Turn the message already in err into "<path>: <message>". */
static void err_prefix(char* err, size_t errlen, const char* path) {
  size_t plen = strlen(path) + 2, mlen;

  if (!err || !errlen) return;
  if (plen >= errlen) {
    molt__errmsg_set(err, errlen, 0, "%s", path);
    return;
  }
  mlen = strnlen(err, errlen - 1);
  if (mlen > errlen - 1 - plen) mlen = errlen - 1 - plen;
  memmove(err + plen, err, mlen);
  err[plen + mlen] = '\0';
  memcpy(err, path, plen - 2);
  err[plen - 2] = ':';
  err[plen - 1] = ' ';
}

int molt__manifest_read(const char* path, bool require_sha256, molt_manifest_t** out, char* err,
                        size_t errlen) {
  size_t len = 0;
  char* text = NULL; /* set by molt__fs_read; initialised for -Wmaybe-uninitialized */
  int rc;

  rc = molt__fs_read(path, MANIFEST_MAX_BYTES, &text, &len);
  if (rc == MOLT_EINVAL) return molt__errmsg_set(err, errlen, rc, "%s: not a regular file", path);
  if (rc == MOLT_EMSGSIZE)
    return molt__errmsg_set(err, errlen, MOLT_EMANIFEST, "%s: larger than 16 MiB", path);
  if (rc) return molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  rc = molt__manifest_parse(text, len, require_sha256, out, err, errlen);
  if (rc) err_prefix(err, errlen, path);
  free(text);
  return rc;
}

/* realpath gives both sides without symlinks, "." or "..", so containment
 * is a prefix test that must end at a path separator ("/a/bc" is not in
 * "/a/b"). */
static int inside(const char* real, const char* rdir) {
  size_t n = strlen(rdir);

  if (strcmp(rdir, "/") == 0) return 1;
  return strncmp(real, rdir, n) == 0 && real[n] == '/';
}

static int verify_one(const molt_manifest_module_t* mod, const char* rdir, char* err,
                      size_t errlen) {
  char *full = NULL, *real = NULL;
  char want[65], got_hex[65];
  uint8_t got[32];
  uint64_t size;
  int fd, rc;

  if (!mod->has_sha256)
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: no sha256 to check against", mod->file);
  if (asprintf(&full, "%s/%s", rdir, mod->file) < 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: %s", mod->file,
                            molt_strerror(MOLT_ENOMEM));
  real = realpath(full, NULL);
  if (!real) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", mod->file, molt__errmsg_strerror(rc));
    goto fail_real;
  }
  /* A symlink inside a bundle may point elsewhere in the bundle, never out
   * of it: a bundle is checked and moved as one directory. */
  if (!inside(real, rdir)) {
    rc = molt__errmsg_set(err, errlen, MOLT_EPERM, "%s: resolves to %s, outside %s", mod->file,
                          real, rdir);
    goto fail_inside;
  }
  /* Opened and sized as the loader does (module_file.h): a FIFO does not
   * hang the open, and only a regular file of a module's size is hashed, so
   * a 3 GiB file costs an fstat rather than reading 3 GiB. O_NOFOLLOW: the
   * last component cannot be swapped for a symlink between realpath and
   * open. The ELF header is not checked here: verifying a bundle compares
   * bytes with their digests, and whether they make a module is the
   * loader's to say, which it does for every module file before loading
   * it. What this may still read is bounded by the size cap. */
  fd = open(real, MOLT_MODULE_FILE_OPEN_FLAGS | O_NOFOLLOW);
  if (fd < 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", mod->file, molt__errmsg_strerror(rc));
    goto fail_inside;
  }
  if ((rc = molt__module_file_stat(fd, mod->file, &size, err, errlen))) goto fail_open;
  rc = molt__sha256_fd(fd, got);
  if (rc) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", mod->file, molt__errmsg_strerror(rc));
    goto fail_open;
  }
  if (memcmp(got, mod->sha256, sizeof got) != 0) {
    molt__sha256_hex(mod->sha256, want);
    molt__sha256_hex(got, got_hex);
    rc = molt__errmsg_set(err, errlen, MOLT_ECHECKSUM, "%s: sha256 expected %s, found %s",
                          mod->file, want, got_hex);
  }
fail_open:
  close(fd);
fail_inside:
  free(real);
fail_real:
  free(full);
  return rc;
}

int molt__manifest_verify_files(const molt_manifest_t* m, const char* dir, char* err,
                                size_t errlen) {
  char* rdir;
  size_t i;
  int rc = 0;

  rdir = realpath(dir, NULL);
  if (!rdir) {
    rc = -errno;
    return molt__errmsg_set(err, errlen, rc, "%s: %s", dir, molt__errmsg_strerror(rc));
  }
  for (i = 0; i < m->nmodules && rc == 0; i++) rc = verify_one(&m->modules[i], rdir, err, errlen);
  free(rdir);
  return rc;
}
