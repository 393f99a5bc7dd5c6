#include <cblas.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

/// Sets flush-to-zero and denormals-are-zero for SSE/AVX arithmetic on the calling thread.
/// Optimizer state that decays towards zero (Adam's moments of dead units) otherwise turns
/// denormal, and every operation on a denormal costs ~100 cycles on x86.
static inline void cortex_flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}
