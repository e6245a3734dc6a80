/* molt/errno.h: every error code molt returns, with its name and message.
 * Codes are negative errno values (the same ones libuv returns on POSIX),
 * so a libuv or syscall result passes up untranslated; codes only molt has
 * sit in a reserved range below libuv's (libuv ends at -4095). */
#ifndef MOLT_ERRNO_H
#define MOLT_ERRNO_H

#include <errno.h>

/* XX(name, value, message). One list generates the enum, molt_strerror()
 * and molt_err_name(), so they cannot drift apart. */
#define MOLT_ERRNO_MAP(XX)                                                    \
  XX(EPERM, -EPERM, "operation not permitted")                                \
  XX(ENOENT, -ENOENT, "no such file or directory")                            \
  XX(ESRCH, -ESRCH, "no such actor")                                          \
  XX(EIO, -EIO, "i/o error")                                                  \
  XX(ENOEXEC, -ENOEXEC, "exec format error")                                  \
  XX(EAGAIN, -EAGAIN, "resource temporarily unavailable")                     \
  XX(ENOMEM, -ENOMEM, "not enough memory")                                    \
  XX(EACCES, -EACCES, "permission denied")                                    \
  XX(EBUSY, -EBUSY, "resource busy")                                          \
  XX(EEXIST, -EEXIST, "already exists")                                       \
  XX(ENOTDIR, -ENOTDIR, "not a directory")                                    \
  XX(EINVAL, -EINVAL, "invalid argument")                                     \
  XX(ENOSPC, -ENOSPC, "no space left on device")                              \
  XX(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                            \
  XX(EPROTO, -EPROTO, "protocol error")                                       \
  XX(EMSGSIZE, -EMSGSIZE, "message too long")                                 \
  XX(ENOTSUP, -ENOTSUP, "operation not supported")                            \
  XX(EADDRINUSE, -EADDRINUSE, "address already in use")                       \
  XX(ECONNREFUSED, -ECONNREFUSED, "connection refused")                       \
  XX(ETIMEDOUT, -ETIMEDOUT, "timed out")                                      \
  XX(ECANCELED, -ECANCELED, "operation canceled")                             \
  XX(EADDRNOTAVAIL, -EADDRNOTAVAIL, "address not available")                  \
  XX(ECONNRESET, -ECONNRESET, "connection reset by peer")                     \
  XX(ENOTCONN, -ENOTCONN, "connection closed")                                \
  XX(ENOBUFS, -ENOBUFS, "write queue full")                                   \
  XX(EPIPE, -EPIPE, "broken pipe")                                            \
  XX(EMFILE, -EMFILE, "too many open files")                                  \
  XX(ENOTELF, -5001, "not an ELF shared object for this machine")             \
  XX(EELF, -5002, "malformed ELF file")                                       \
  XX(EEXECSTACK, -5003, "module requires an executable stack")                \
  XX(ENODESC, -5004, "module descriptor missing")                             \
  XX(EBADMAGIC, -5005, "bad module magic")                                    \
  XX(EABI, -5006, "module ABI version mismatch")                              \
  XX(EBADSIZE, -5007, "module descriptor too small")                          \
  XX(ENAME, -5008, "module name mismatch")                                    \
  XX(EDLOPEN, -5009, "dlopen failed")                                         \
  XX(EBADDESC, -5010, "invalid module descriptor")                            \
  XX(ENOMODULE, -5011, "no such module")                                      \
  XX(EOLDCODE, -5012, "old code still in use")                                \
  XX(EFORBIDDEN, -5013, "module does what a module must not do")              \
  XX(EPROBE, -5014, "refused by the module probe")                            \
  XX(EMANIFEST, -5020, "invalid release manifest")                            \
  XX(ECHECKSUM, -5021, "checksum mismatch")                                   \
  XX(ENORELEASE, -5022, "no such release")                                    \
  XX(EUPGRADE, -5023, "upgrade refused")                                      \
  XX(ECODECHANGE, -5024, "code_change failed")                                \
  XX(EINIT, -5025, "actor init failed")                                       \
  XX(EROOTEXIT, -5026, "the root supervisor exited")                          \
  XX(EBADREQ, -5030, "bad control request")                                   \
  XX(ENOTRUNNING, -5031, "container not running")

typedef enum {
#define XX(name, value, msg) MOLT_##name = (value),
  MOLT_ERRNO_MAP(XX)
#undef XX
} molt_errno_t;

/* Both return a static string; an unknown code gets a generic message. */
const char* molt_strerror(int err);
const char* molt_err_name(int err);

#endif
