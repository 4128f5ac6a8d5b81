// Loads a liballowly_ffi build with dlopen(RTLD_NOW) and asks it for its UniFFI contract version, the first call the
// generated Kotlin makes. Built for aarch64 and run under qemu-user by `make kotlin-jar-aarch64`: a JVM cannot run
// there, but this proves the cross-built library loads, every symbol it needs resolves in an aarch64 glibc, and it
// answers the contract version the committed bindings expect. Single-threaded: qemu 7.2 hangs once a thread starts.
//   ffi_load_check LIBRARY EXPECTED_VERSION
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (!lib) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
    unsigned (*version)(void) = (unsigned (*)(void))dlsym(lib, "ffi_allowly_ffi_uniffi_contract_version");
    if (!version) { fprintf(stderr, "dlsym: %s\n", dlerror()); return 1; }
    printf("contract version %u\n", version());
    return version() == (unsigned)atoi(argv[2]) ? 0 : 1;
}
