/* control_stress.c: many clients hammer one control server at once while
 * other threads post to it, for ThreadSanitizer. Exits non-zero on any wrong
 * or missing reply. Not a benchmark. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "molt/errno.h"

enum {
  CLIENTS = 8,
  CALLS = 150,    /* per client, through molt__control_call */
  RAW_EVERY = 10, /* every so many calls, a raw pipelined connection too */
  PIPELINED = 20,
  POSTERS = 2,
  POSTS = 5000, /* per poster */
};

static _Atomic(molt_control_t*) server;
static atomic_int failures;
static char home[256];
static char sockpath[300];

#define FAIL(...)                                    \
  do {                                               \
    fprintf(stderr, "control_stress: " __VA_ARGS__); \
    fputc('\n', stderr);                             \
    atomic_fetch_add(&failures, 1);                  \
  } while (0)

typedef struct job {
  molt_control_req_t* req;
  int n;
  struct job* next;
} job_t;

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jobs_cond = PTHREAD_COND_INITIALIZER;
static job_t* jobs;
static bool jobs_quit;

static void job_complete(void* arg) {
  job_t* j = arg;
  cJSON* r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "n", j->n);
  molt__control_reply(j->req, r);
  free(j);
}

static void* job_worker(void* arg) {
  (void)arg;
  pthread_mutex_lock(&jobs_lock);
  for (;;) {
    while (!jobs && !jobs_quit) pthread_cond_wait(&jobs_cond, &jobs_lock);
    if (!jobs) break;
    job_t* j = jobs;
    jobs = j->next;
    pthread_mutex_unlock(&jobs_lock);
    if (molt__control_post(atomic_load(&server), job_complete, j) != 0) FAIL("post failed");
    pthread_mutex_lock(&jobs_lock);
  }
  pthread_mutex_unlock(&jobs_lock);
  return NULL;
}

static void dispatch(molt_control_req_t* req, const char* cmd, const cJSON* args, void* data) {
  (void)data;
  if (strcmp(cmd, "echo") == 0) {
    molt__control_reply(req, args ? cJSON_Duplicate(args, 1) : NULL);
  } else if (strcmp(cmd, "later") == 0) {
    job_t* j = calloc(1, sizeof *j);
    const cJSON* n = cJSON_GetObjectItemCaseSensitive(args, "n");
    j->req = req;
    j->n = cJSON_IsNumber(n) ? n->valueint : -1;
    pthread_mutex_lock(&jobs_lock);
    j->next = jobs;
    jobs = j;
    pthread_cond_signal(&jobs_cond);
    pthread_mutex_unlock(&jobs_lock);
  } else {
    molt__control_fail(req, MOLT_EINVAL, "unknown command");
  }
}

/* Touched only on the control thread, read after stop has joined it. */
static int post_seen[POSTERS];
static int post_misordered;

typedef struct {
  int poster, seq;
} tick_t;

static void tick(void* arg) {
  tick_t* t = arg;
  if (post_seen[t->poster] != t->seq) post_misordered++;
  post_seen[t->poster] = t->seq + 1;
  free(t);
}

static void* poster(void* arg) {
  int id = (int)(intptr_t)arg;
  for (int i = 0; i < POSTS; i++) {
    tick_t* t = malloc(sizeof *t);
    t->poster = id;
    t->seq = i;
    if (molt__control_post(atomic_load(&server), tick, t) != 0) {
      FAIL("post %d failed", i);
      free(t);
    }
    if (i % 500 == 0) usleep(1000);
  }
  return NULL;
}

static int raw_connect(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, sockpath);
  if (fd < 0 || connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
    FAIL("connect: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

/* One connection, PIPELINED requests in one write (some bad), replies
 * checked in order. */
static void raw_round(int client, int round) {
  int fd = raw_connect();
  if (fd < 0) return;
  char req[PIPELINED * 64];
  size_t len = 0;
  for (int i = 0; i < PIPELINED; i++) {
    int n = client * 1000000 + round * 100 + i;
    if (i % 7 == 3)
      len += (size_t)snprintf(req + len, sizeof req - len, "not json %d\n", n);
    else
      len +=
          (size_t)snprintf(req + len, sizeof req - len, "{\"cmd\":\"%s\",\"args\":{\"n\":%d}}\r\n",
                           i % 3 ? "echo" : "later", n);
  }
  if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) FAIL("short send");
  char buf[8192];
  size_t have = 0;
  for (int i = 0; i < PIPELINED; i++) {
    char* nl;
    while (!(nl = memchr(buf, '\n', have))) {
      ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
      if (r <= 0) {
        FAIL("client %d round %d: connection ended after %d replies", client, round, i);
        close(fd);
        return;
      }
      have += (size_t)r;
    }
    *nl = '\0';
    int n = client * 1000000 + round * 100 + i;
    char want[128];
    if (i % 7 == 3)
      snprintf(want, sizeof want, "{\"ok\":false,\"error\":\"EBADREQ\",\"code\":-5030,");
    else
      snprintf(want, sizeof want, "{\"ok\":true,\"result\":{\"n\":%d}}", n);
    if (strncmp(buf, want, strlen(want)) != 0)
      FAIL("client %d round %d reply %d: %s (wanted %s)", client, round, i, buf, want);
    size_t used = (size_t)(nl - buf) + 1;
    memmove(buf, buf + used, have - used);
    have -= used;
  }
  close(fd);
}

/* A connection that leaves mid-request. */
static void rude_round(void) {
  int fd = raw_connect();
  if (fd < 0) return;
  (void)!send(fd, "{\"cmd\":\"echo\",\"args\":{\"half", 27, MSG_NOSIGNAL);
  close(fd);
}

/* A peer that breaks the limits: oversized lines and half a line left to
 * time out. Each must end with exactly the error reply and a close. */
static void expect_refusal(int fd, const char* name) {
  char buf[512];
  size_t have = 0;
  for (;;) {
    ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (r <= 0) break;
    have += (size_t)r;
  }
  buf[have] = '\0';
  char want[64];
  snprintf(want, sizeof want, "\"error\":\"%s\"", name);
  if (!strstr(buf, want) || !have || buf[have - 1] != '\n' || strchr(buf, '\n') != buf + have - 1)
    FAIL("wanted one %s line, got: %.200s", name, buf);
}

static void* misbehaver(void* arg) {
  (void)arg;
  size_t n = MOLT_CONTROL_MAX_REQUEST + 4096;
  char* big = malloc(n);
  memset(big, '[', n);
  for (int i = 0; i < 5; i++) {
    int fd = raw_connect();
    if (fd < 0) break;
    (void)!send(fd, big, n, MSG_NOSIGNAL);
    expect_refusal(fd, "EMSGSIZE");
    close(fd);
  }
  free(big);
  int slow[3];
  for (int i = 0; i < 3; i++) {
    slow[i] = raw_connect();
    if (slow[i] >= 0) (void)!send(slow[i], "{\"cmd\":", 7, MSG_NOSIGNAL);
  }
  for (int i = 0; i < 3; i++) {
    if (slow[i] < 0) continue;
    expect_refusal(slow[i], "ETIMEDOUT");
    close(slow[i]);
  }
  return NULL;
}

static void* client(void* arg) {
  int id = (int)(intptr_t)arg;
  for (int i = 0; i < CALLS; i++) {
    int n = id * 1000000 + i;
    const char* cmd = i % 5 == 4 ? "nope" : i % 2 ? "later" : "echo";
    cJSON* args = cJSON_CreateObject();
    cJSON_AddNumberToObject(args, "n", n);
    cJSON* result = NULL;
    char err[256] = "";
    int rc = molt__control_call(home, cmd, args, 10000, &result, err, sizeof err);
    if (strcmp(cmd, "nope") == 0) {
      if (rc != MOLT_EINVAL || strcmp(err, "unknown command") != 0)
        FAIL("client %d call %d: %s %s", id, i, molt_err_name(rc), err);
    } else if (rc != 0) {
      FAIL("client %d call %d: %s %s", id, i, molt_err_name(rc), err);
    } else if (!cJSON_Compare(result, args, 1)) {
      FAIL("client %d call %d: wrong result", id, i);
    }
    cJSON_Delete(result);
    cJSON_Delete(args);
    if (i % RAW_EVERY == 0) {
      raw_round(id, i);
      rude_round();
    }
  }
  return NULL;
}

/* Servers coming and going while a client keeps calling: every call either
 * gets its answer or finds nobody running, and stop never trips on a
 * connection in flight. */
static atomic_bool restarting;

static void* restart_client(void* arg) {
  (void)arg;
  while (atomic_load(&restarting)) {
    char err[256];
    int rc = molt__control_call(home, "echo", NULL, 5000, NULL, err, sizeof err);
    if (rc != 0 && rc != MOLT_ENOTRUNNING && rc != MOLT_EPROTO)
      FAIL("call during restarts: %s %s", molt_err_name(rc), err);
  }
  return NULL;
}

static void restarts(void) {
  pthread_t t;
  atomic_store(&restarting, true);
  pthread_create(&t, NULL, restart_client, NULL);
  for (int i = 0; i < 20; i++) {
    char err[256] = "";
    molt_control_t* c = NULL;
    if (molt__control_start(home, dispatch, NULL, &c, err, sizeof err) != 0) {
      FAIL("restart %d: %s", i, err);
      break;
    }
    usleep(5000);
    molt__control_stop(c);
  }
  atomic_store(&restarting, false);
  pthread_join(t, NULL);
}

int main(void) {
  const char* tmp = getenv("TMPDIR");
  snprintf(home, sizeof home, "%s/molt-control-stress.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(home)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(sockpath, sizeof sockpath, "%s/%s", home, MOLT_CONTROL_SOCKET);

  char err[256] = "";
  molt_control_t* c = NULL;
  int rc = molt__control_start(home, dispatch, NULL, &c, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "control_stress: start: %s\n", err);
    rmdir(home);
    return 1;
  }
  atomic_store(&server, c);
  /* Short enough for the misbehaver to see a few, long enough that a slow
   * (sanitized) client never hits it. */
  molt__control_set_deadline(c, 1000);

  pthread_t worker, posters[POSTERS], clients[CLIENTS], rude;
  pthread_create(&worker, NULL, job_worker, NULL);
  pthread_create(&rude, NULL, misbehaver, NULL);
  for (int i = 0; i < POSTERS; i++) pthread_create(&posters[i], NULL, poster, (void*)(intptr_t)i);
  for (int i = 0; i < CLIENTS; i++)
    pthread_create(&clients[i], NULL, client, (void*)(intptr_t)(i + 1));

  for (int i = 0; i < CLIENTS; i++) pthread_join(clients[i], NULL);
  for (int i = 0; i < POSTERS; i++) pthread_join(posters[i], NULL);
  pthread_join(rude, NULL);
  /* Every client has its replies, so every job has been posted. */
  pthread_mutex_lock(&jobs_lock);
  jobs_quit = true;
  pthread_cond_signal(&jobs_cond);
  pthread_mutex_unlock(&jobs_lock);
  pthread_join(worker, NULL);

  molt__control_stop(c);
  if (access(sockpath, F_OK) == 0) FAIL("socket left behind");
  restarts();
  rmdir(home);

  for (int i = 0; i < POSTERS; i++)
    if (post_seen[i] != POSTS) FAIL("poster %d: %d of %d posts ran", i, post_seen[i], POSTS);
  if (post_misordered) FAIL("%d posts ran out of order", post_misordered);

  int f = atomic_load(&failures);
  if (f)
    fprintf(stderr, "control_stress: %d failures\n", f);
  else
    printf("control_stress: ok\n");
  return f ? 1 : 0;
}
