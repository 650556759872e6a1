/* true: exit with status 0 (for `make run CMD=true`). */
int main(void) { return 0; }
