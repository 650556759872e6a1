/* false: exit with status 1 (checks that `make run CMD=false` reports the failure). */
int main(void) { return 1; }
