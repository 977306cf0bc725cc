/* Public declarations of satnode's C kernels. This header is also fed to cffi's cdef, so it
 * holds only plain C declarations (no macros, no includes). */
int satnode_abi_version(void);
