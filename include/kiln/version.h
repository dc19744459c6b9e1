// Kiln's version: the one place it is defined. Compiled code depends on it (the JIT's
// compilation-cache key holds it), so a release that changes code generation bumps it.
#ifndef KILN_VERSION_H_
#define KILN_VERSION_H_

#define KILN_VERSION "0.1.0"

#endif  // KILN_VERSION_H_
