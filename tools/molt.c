/* molt.c: the molt command. */
#include <stdio.h>
int main(int argc, char** argv) {
  (void)argc; (void)argv;
  fprintf(stderr, "molt: not yet\n");
  return 1;
}
