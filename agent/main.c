#include <stdio.h>
int main(void) { puts("vfagent"); return 0; }
