int square(int x);
int cube(int x);
