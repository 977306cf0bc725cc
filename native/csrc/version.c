#include "kernels.h"

/* Bumped whenever a kernel signature changes; the Python side checks it at import. */
int satnode_abi_version(void) { return 2; }
