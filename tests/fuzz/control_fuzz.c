/* control_fuzz.c: libFuzzer target for the control protocol's request
 * parser (molt__control_request_parse, runtime/control/control_conn.c):
 * any bytes as one request line. Besides what the sanitizers catch, a
 * refusal must be EBADREQ with nothing handed out and a one-line reason
 * (it becomes the `molt` command's message), and an accepted request must
 * have a command. Built by tools/fuzz.sh (-DMOLT_FUZZ=ON). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "control_conn.h"
#include "molt/errno.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  /* The framing hands the parser a line it has terminated where the
   * newline was; an exact copy plus that byte, so a read past it shows. */
  char* line = malloc(size + 1);
  cJSON* root;
  const char* cmd;
  const cJSON* args;
  char why[160] = "";
  int rc;

  if (!line) return 0;
  memcpy(line, data, size);
  line[size] = '\0';
  rc = molt__control_request_parse(line, size, &root, &cmd, &args, why, sizeof why);
  if (rc == 0) {
    if (!root || !cmd || (args && !cJSON_IsObject(args))) abort();
    cJSON_Delete(root);
  } else if (rc != MOLT_EBADREQ || root || cmd || args || !why[0] || strchr(why, '\n')) {
    abort();
  }
  free(line);
  return 0;
}
