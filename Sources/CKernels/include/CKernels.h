// Cortex's own C kernels: CPU feature checks, thread-level CPU settings and the few loops that
// need instructions Swift cannot ask for on the baseline x86-64 target (AVX2/FMA picked at run
// time). Kept apart from the OpenBLAS shim so the system-library target stays a plain header.
#ifndef CORTEX_KERNELS_H
#define CORTEX_KERNELS_H

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

/// A spin-wait hint (x86 `pause`): lets the sibling hardware thread and the memory system
/// breathe while a worker polls for its next job.
static inline void cortex_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/// Whether this CPU and OS run AVX2 and FMA code (CPUID leaf 7 EBX bit 5, leaf 1 ECX bits 12
/// and 27, and XCR0 saving the YMM registers). Kernels built for the baseline x86-64 target
/// use SSE only; these checks pick their wider variants at run time.
static inline int cortex_cpu_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 12)) || !(c & (1u << 27))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 5)) != 0;
}

/// Adam's update (Kingma & Ba 2015, PyTorch's form) over eight floats at a time with AVX2/FMA;
/// returns how many leading elements it did (a multiple of 8), the caller does the rest.
/// g ← ∇ + l2·θ;  m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²;  θ ← θ − step·m / (√v·c + ε)
__attribute__((target("avx2,fma")))
static inline long cortex_adam_avx2(float *p, const float *gradient, float *m, float *v, long n,
                                    float oneMinusBeta1, float beta2, float oneMinusBeta2,
                                    float inverseCorrection2, float epsilon, float stepSize, float l2) {
    const __m256 b1 = _mm256_set1_ps(oneMinusBeta1), b2 = _mm256_set1_ps(beta2);
    const __m256 ob2 = _mm256_set1_ps(oneMinusBeta2), c2 = _mm256_set1_ps(inverseCorrection2);
    const __m256 eps = _mm256_set1_ps(epsilon), step = _mm256_set1_ps(stepSize), decay = _mm256_set1_ps(l2);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pv = _mm256_loadu_ps(p + i);
        __m256 g = _mm256_add_ps(_mm256_loadu_ps(gradient + i), _mm256_mul_ps(decay, pv));
        __m256 mv = _mm256_loadu_ps(m + i);
        mv = _mm256_add_ps(mv, _mm256_mul_ps(b1, _mm256_sub_ps(g, mv)));
        __m256 vv = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(ob2, g), g));
        _mm256_storeu_ps(m + i, mv);
        _mm256_storeu_ps(v + i, vv);
        __m256 denominator = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vv), c2), eps);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pv, _mm256_mul_ps(step, _mm256_div_ps(mv, denominator))));
    }
    return i;
}
#else
static inline int cortex_cpu_has_avx2_fma(void) { return 0; }
static inline long cortex_adam_avx2(float *p, const float *gradient, float *m, float *v, long n,
                                    float oneMinusBeta1, float beta2, float oneMinusBeta2,
                                    float inverseCorrection2, float epsilon, float stepSize, float l2) { return 0; }
#endif

#endif
