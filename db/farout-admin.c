#include <stdio.h>
int main(void) { fputs("farout-admin: not built yet\n", stderr); return 1; }
