#include <stdio.h>

#include "util.h"

int main(void) {
  printf("square(7) = %d, cube(3) = %d\n", square(7), cube(3));
  return 0;
}
