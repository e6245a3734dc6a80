/* control_client.c: the blocking client the molt command uses to send one
 * request to a running container and read its one reply line. Not the
 * server, and no retries: one connection, one exchange. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "alloc.h"
#include "control.h"
#include "control_sock.h"
#include "errmsg.h"
#include "molt/errno.h"

/* Replies are not limited by the protocol (a status can list many actors);
 * this only keeps a broken peer from filling our memory. */
#define REPLY_MAX (64u * 1024u * 1024u)

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline) {
  for (;;) {
    uint64_t now = now_ms();
    if (now >= deadline) return MOLT_ETIMEDOUT;
    uint64_t left = deadline - now;
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
    if (n > 0) return 0; /* POLLHUP and POLLERR too: the next call says what */
    if (n < 0 && errno != EINTR) return -errno;
  }
}

static int send_all(int fd, const char* p, size_t n, uint64_t deadline) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w >= 0) {
      p += w;
      n -= (size_t)w;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int rc = wait_fd(fd, POLLOUT, deadline);
      if (rc < 0) return rc;
    } else if (errno != EINTR) {
      return -errno;
    }
  }
  return 0;
}

/* Read up to the first '\n' into *line (NUL-terminated, without the
 * newline; the caller frees). MOLT_EPROTO if the peer closed before one. */
static int recv_line(int fd, char** line, uint64_t deadline) {
  size_t cap = 4096, len = 0;
  char* buf = malloc(cap);
  if (!buf) return MOLT_ENOMEM;
  int rc = 0;
  for (;;) {
    if (len + 1 >= cap) {
      char* grown = cap < REPLY_MAX ? realloc(buf, cap * 2) : NULL;
      if (!grown) {
        rc = cap < REPLY_MAX ? MOLT_ENOMEM : MOLT_EMSGSIZE;
        break;
      }
      buf = grown;
      cap *= 2;
    }
    ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
    if (r > 0) {
      char* nl = memchr(buf + len, '\n', (size_t)r);
      len += (size_t)r;
      if (nl) {
        *nl = '\0';
        *line = buf;
        return 0;
      }
    } else if (r == 0) {
      rc = MOLT_EPROTO;
      break;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      rc = wait_fd(fd, POLLIN, deadline);
      if (rc < 0) break;
    } else if (errno != EINTR) {
      rc = -errno;
      break;
    }
  }
  free(buf);
  return rc;
}

/* Interpret a reply line. cJSON trees stop here: *result is detached from
 * the reply and handed to the caller. */
static int reply_parse(const char* line, const char* path, cJSON** result, char* err,
                       size_t errlen) {
  cJSON* r = cJSON_ParseWithOpts(line, NULL, 1);
  if (!r)
    return molt__errmsg_set(err, errlen, MOLT_EPROTO, "%s: the container's reply is not valid JSON",
                            path);
  int rc = MOLT_EPROTO;
  const cJSON* ok = cJSON_GetObjectItemCaseSensitive(r, "ok");
  if (!cJSON_IsObject(r) || !cJSON_IsBool(ok)) {
    molt__errmsg_set(err, errlen, rc, "%s: the container's reply has no boolean \"ok\"", path);
    goto out;
  }
  if (cJSON_IsTrue(ok)) {
    rc = 0;
    if (!result) goto out;
    *result = cJSON_DetachItemFromObjectCaseSensitive(r, "result");
    if (!*result) *result = cJSON_CreateObject();
    if (!*result)
      rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory reading the reply");
    goto out;
  }
  const cJSON* code = cJSON_GetObjectItemCaseSensitive(r, "code");
  const cJSON* message = cJSON_GetObjectItemCaseSensitive(r, "message");
  /* A failure must carry a failure code: 0 or a positive number would read
   * as success (or a count) to our caller. */
  if (!cJSON_IsNumber(code) || code->valuedouble >= 0 || code->valuedouble < INT_MIN ||
      code->valuedouble != (double)(int)code->valuedouble) {
    molt__errmsg_set(err, errlen, rc, "%s: the container's error reply has no valid \"code\"",
                     path);
    goto out;
  }
  rc = (int)code->valuedouble;
  molt__errmsg_set(err, errlen, rc, "%s",
                   cJSON_IsString(message) ? message->valuestring : molt_strerror(rc));

out:
  cJSON_Delete(r);
  return rc;
}

/* The request line, newline included, or NULL without memory; freed with
 * molt__free (cJSON allocates through molt's allocator: alloc.h). */
static char* request_text(const char* cmd, const cJSON* args) {
  cJSON* req = cJSON_CreateObject();
  char* text = NULL;
  if (!req || !cJSON_AddStringToObject(req, "cmd", cmd)) goto out;
  if (args) {
    /* A reference prints args' members without copying them or taking
     * them over; cJSON's object reference points at the member list. */
    cJSON* ref = cJSON_CreateObjectReference(args->child);
    if (!ref || !cJSON_AddItemToObject(req, "args", ref)) {
      cJSON_Delete(ref);
      goto out;
    }
  }
  text = cJSON_PrintUnformatted(req);
  if (text) {
    size_t n = strlen(text);
    char* line = molt__realloc(text, n + 2);
    if (line) {
      line[n] = '\n';
      line[n + 1] = '\0';
    } else {
      cJSON_free(text);
    }
    text = line;
  }
out:
  cJSON_Delete(req);
  return text;
}

int molt__control_call(const char* home, const char* cmd, const cJSON* args, uint32_t timeout_ms,
                       cJSON** result, char* err, size_t errlen) {
  if (result) *result = NULL;
  uint64_t deadline = now_ms() + timeout_ms;
  char path[MOLT_CONTROL_PATH_MAX];
  int rc = molt__control_sockpath(home, path, err, errlen);
  if (rc < 0) return rc;
  if (!cmd || (args && !cJSON_IsObject(args)))
    return molt__errmsg_set(err, errlen, MOLT_EINVAL,
                            "a request needs a command and, if any, an args object");
  char* text = request_text(cmd, args);
  if (!text)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory building the request");
  size_t len = strlen(text);
  if (len - 1 > MOLT_CONTROL_MAX_REQUEST) {
    rc = molt__errmsg_set(err, errlen, MOLT_EMSGSIZE,
                          "request of %zu bytes exceeds the limit of %u", len - 1,
                          MOLT_CONTROL_MAX_REQUEST);
    goto out_text;
  }

  int fd;
  rc = molt__control_dial(path, timeout_ms, &fd);
  if (rc == MOLT_ENOENT || rc == MOLT_ECONNREFUSED) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOTRUNNING, "no container is running in %s (%s: %s)",
                          home, path, uv_strerror(rc));
    goto out_text;
  } else if (rc == MOLT_ETIMEDOUT) {
    molt__errmsg_set(err, errlen, rc, "%s: the container did not accept a connection within %u ms",
                     path, timeout_ms);
    goto out_text;
  } else if (rc < 0) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", path, uv_strerror(rc));
    goto out_text;
  }

  /* A server that refuses us (EPERM) says why and hangs up, perhaps before
   * we finish sending; its reason may still be waiting to be read. */
  int sent = send_all(fd, text, len, deadline);
  if (sent < 0 && sent != UV_EPIPE && sent != UV_ECONNRESET) {
    rc = molt__errmsg_set(err, errlen, sent, "%s: cannot send the request: %s", path,
                          uv_strerror(sent));
    goto out_fd;
  }
  char* line = NULL;
  rc = recv_line(fd, &line, deadline);
  if (rc == MOLT_ETIMEDOUT) {
    molt__errmsg_set(err, errlen, rc, "%s: no reply within %u ms", path, timeout_ms);
  } else if (rc == MOLT_EPROTO || rc == UV_ECONNRESET || (rc < 0 && sent < 0)) {
    /* EOF or a reset: a container that stopped, or refused us without a
     * reason, mid-exchange. */
    rc = molt__errmsg_set(err, errlen, MOLT_EPROTO,
                          "%s: the container closed the connection without a reply", path);
  } else if (rc < 0) {
    molt__errmsg_set(err, errlen, rc, "%s: cannot read the reply: %s", path, uv_strerror(rc));
  } else {
    rc = reply_parse(line, path, result, err, errlen);
    free(line);
  }

out_fd:
  close(fd);
out_text:
  molt__free(text);
  return rc;
}
