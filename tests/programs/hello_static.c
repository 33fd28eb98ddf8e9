// A static C hello world: the smallest real program the sentry must run
// exactly as Linux does (tests/programs/CMakeLists.txt links it -static).
#include <stdio.h>

int main(int argc, char **argv) {
  printf("hello, world\n");
  for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
  return 0;
}
