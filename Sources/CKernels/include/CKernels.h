// Cortex's own C kernels: CPU feature checks, thread-level CPU settings and the few loops that
// need instructions Swift cannot ask for on the baseline x86-64 target (AVX2/FMA picked at run
// time). Kept apart from the OpenBLAS shim so the system-library target stays a plain header.
#ifndef CORTEX_KERNELS_H
#define CORTEX_KERNELS_H

#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

/// Keeps freed memory in the process for reuse instead of handing it back to the system at
/// once (glibc's malloc; elsewhere nothing). By default blocks above 128 KB to a few MB are
/// mapped on each malloc and unmapped on each free, and worker threads' heaps shrink as soon as
/// their top is free, so the next step faults every page in again: a convolution's scratch
/// allocated on a worker thread cost 215 page faults a call and tripled the two-thread time
/// of the ViT patch embedding. With these settings blocks below 32 MB come from the heaps and
/// a heap keeps up to 64 MB free (PyTorch keeps its CPU tensors in its own caching allocator).
static inline void cortex_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

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

/// dst[i] = src[i] * weight (src may equal dst): the gradient copy into an allreduce buffer.
/// A plain loop the C compiler vectorises, which Swift's loop over pointers that may alias does not.
static inline void cortex_scale_into(const float *src, float *dst, long n, float weight) {
    if (src == dst) {
        for (long i = 0; i < n; i++) dst[i] *= weight;
    } else {
        for (long i = 0; i < n; i++) dst[i] = src[i] * weight;
    }
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <math.h>

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

/// eˣ for eight floats: the same Cephes polynomial and two-half 2ᵏ scaling as Swift's `fastExp`
/// (x clamped to [−104, 89], NaN passed through), with FMA.
__attribute__((target("avx2,fma")))
static inline __m256 cortex_exp_avx2(__m256 x) {
    const __m256 clamped = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(1.442695041f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), clamped);
    r = _mm256_fmadd_ps(k, _mm256_set1_ps(2.12194440e-4f), r);
    const __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, z, r), _mm256_set1_ps(1.0f));
    const __m256i n = _mm256_cvtps_epi32(k);
    const __m256i half = _mm256_srai_epi32(n, 1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 scale1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    const __m256 scale2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, half), bias), 23));
    const __m256 result = _mm256_mul_ps(_mm256_mul_ps(p, scale1), scale2);
    return _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/// Horizontal sum and maximum of eight floats.
__attribute__((target("avx2,fma")))
static inline float cortex_hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
__attribute__((target("avx2,fma")))
static inline float cortex_hmax_avx2(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Exact GELU forward with its slope, eight at a time: y = x·Φ(x), slope = Φ(x) + x·φ(x), Φ from
/// erf(x/√2) by Abramowitz & Stegun 7.1.26, whose e^(−x²/2) φ shares. Returns the elements done
/// (a multiple of 8); the caller does the rest with the same formulas.
__attribute__((target("avx2,fma")))
static inline long cortex_gelu_avx2(const float *x, float *y, float *slope, long n) {
    const __m256 signMask = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 e = cortex_exp_avx2(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(-0.5f), v), v));
        const __m256 a = _mm256_andnot_ps(signMask, v);
        const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f * 0.70710678f), a, one));
        __m256 p = _mm256_set1_ps(1.061405429f);
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
        const __m256 erfAbs = _mm256_fnmadd_ps(_mm256_mul_ps(p, t), e, one);
        const __m256 erfSigned = _mm256_xor_ps(erfAbs, _mm256_and_ps(signMask, v));
        const __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(one, erfSigned));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v, cdf));
        _mm256_storeu_ps(slope + i, _mm256_fmadd_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.39894228f)), e, cdf));
    }
    return i;
}

/// out[i] = a[i]·b[i], eight at a time; returns the elements done.
__attribute__((target("avx2,fma")))
static inline long cortex_multiply_avx2(const float *a, const float *b, float *out, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    return i;
}

/// Softmax (or log-softmax) of `lines` contiguous lines of `length` floats, length a multiple of 8:
/// m = max, e = exp(x − m), y = e / Σe (or (x − m) − log Σe).
__attribute__((target("avx2,fma")))
static inline void cortex_softmax_lines_avx2(const float *x, float *y, long lines, long length, int logarithm) {
    for (long line = 0; line < lines; line++) {
        const float *row = x + line * length;
        float *out = y + line * length;
        __m256 mv = _mm256_set1_ps(-INFINITY);
        for (long j = 0; j < length; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(row + j));
        const __m256 m = _mm256_set1_ps(cortex_hmax_avx2(mv));
        __m256 sum = _mm256_setzero_ps();
        for (long j = 0; j < length; j += 8) {
            const __m256 e = cortex_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(row + j), m));
            sum = _mm256_add_ps(sum, e);
            if (!logarithm) _mm256_storeu_ps(out + j, e);
        }
        const float total = cortex_hsum_avx2(sum);
        if (logarithm) {
            const __m256 logTotal = _mm256_set1_ps(logf(total));
            // (x − m) − log Σ, in that order, as the scalar path.
            for (long j = 0; j < length; j += 8)
                _mm256_storeu_ps(out + j, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), m), logTotal));
        } else {
            const __m256 reciprocal = _mm256_set1_ps(1.0f / total);
            for (long j = 0; j < length; j += 8) _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_loadu_ps(out + j), reciprocal));
        }
    }
}

/// tanh x as Cortex's scalar `fastTanh`: an odd polynomial for |x| < 0.625, else
/// 1 − 2 / (e²ˣ + 1) with the sign restored.
__attribute__((target("avx2,fma")))
static inline __m256 cortex_tanh_avx2(__m256 x) {
    const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    const __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, z), p, x);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 e = cortex_exp_avx2(_mm256_add_ps(a, a));
    const __m256 large = _mm256_or_ps(_mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one))), sign);
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

/// σ(x) = 1 / (1 + e⁻ˣ).
__attribute__((target("avx2,fma")))
static inline __m256 cortex_sigmoid_avx2(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, cortex_exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/// Eight lanes of `cortex_lstm_cell_forward_avx2` (gates i, f, g, o at offsets 0, H, 2H, 3H).
__attribute__((target("avx2,fma")))
static inline void cortex_lstm_forward8(const float *x, const float *hp, const float *cPrev, float *act, float *c,
                                        float *h, long H) {
    const __m256 i = cortex_sigmoid_avx2(_mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(hp)));
    const __m256 f = cortex_sigmoid_avx2(_mm256_add_ps(_mm256_loadu_ps(x + H), _mm256_loadu_ps(hp + H)));
    const __m256 g = cortex_tanh_avx2(_mm256_add_ps(_mm256_loadu_ps(x + 2 * H), _mm256_loadu_ps(hp + 2 * H)));
    const __m256 o = cortex_sigmoid_avx2(_mm256_add_ps(_mm256_loadu_ps(x + 3 * H), _mm256_loadu_ps(hp + 3 * H)));
    const __m256 cv = _mm256_add_ps(_mm256_mul_ps(f, _mm256_loadu_ps(cPrev)), _mm256_mul_ps(i, g));
    _mm256_storeu_ps(act, i);
    _mm256_storeu_ps(act + H, f);
    _mm256_storeu_ps(act + 2 * H, g);
    _mm256_storeu_ps(act + 3 * H, o);
    _mm256_storeu_ps(c, cv);
    _mm256_storeu_ps(h, _mm256_mul_ps(o, cortex_tanh_avx2(cv)));
}

/// One LSTM step's elementwise part for one batch row (PyTorch's gate order i, f, g, o):
/// pre-activations x + hp (the input projection with the biases, and h·W_hhᵀ, each [4H]) →
/// act = (σ(i), σ(f), tanh(g), σ(o)), c = f ⊙ cPrev + i ⊙ g, h = o ⊙ tanh(c). Any H: the last
/// lanes go through an eight-float copy.
__attribute__((target("avx2,fma")))
static inline void cortex_lstm_cell_forward_avx2(const float *x, const float *hp, const float *cPrev, float *act,
                                                 float *c, float *h, long H) {
    const long body = H - H % 8;
    for (long j = 0; j < body; j += 8) cortex_lstm_forward8(x + j, hp + j, cPrev + j, act + j, c + j, h + j, H);
    if (body == H) return;
    float tx[32] = {0}, th[32] = {0}, tp[8] = {0}, ta[32], tc[8], tout[8];
    const long r = H - body;
    for (long k = 0; k < r; k++) {
        for (int gate = 0; gate < 4; gate++) {
            tx[gate * 8 + k] = x[gate * H + body + k];
            th[gate * 8 + k] = hp[gate * H + body + k];
        }
        tp[k] = cPrev[body + k];
    }
    cortex_lstm_forward8(tx, th, tp, ta, tc, tout, 8);
    for (long k = 0; k < r; k++) {
        for (int gate = 0; gate < 4; gate++) act[gate * H + body + k] = ta[gate * 8 + k];
        c[body + k] = tc[k];
        h[body + k] = tout[k];
    }
}

/// Eight lanes of `cortex_lstm_cell_backward_avx2`.
__attribute__((target("avx2,fma")))
static inline void cortex_lstm_backward8(const float *gy, const float *dh, const float *act, const float *c,
                                         const float *cPrev, float *dc, float *dg, long H) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 d = _mm256_add_ps(_mm256_loadu_ps(dh), _mm256_loadu_ps(gy));
    const __m256 i = _mm256_loadu_ps(act), f = _mm256_loadu_ps(act + H);
    const __m256 g = _mm256_loadu_ps(act + 2 * H), o = _mm256_loadu_ps(act + 3 * H);
    const __m256 tc = cortex_tanh_avx2(_mm256_loadu_ps(c));
    const __m256 dcv = _mm256_add_ps(
        _mm256_loadu_ps(dc), _mm256_mul_ps(_mm256_mul_ps(d, o), _mm256_sub_ps(one, _mm256_mul_ps(tc, tc))));
    _mm256_storeu_ps(dg + 3 * H, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, tc), o), _mm256_sub_ps(one, o)));
    _mm256_storeu_ps(dg, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dcv, g), i), _mm256_sub_ps(one, i)));
    _mm256_storeu_ps(dg + 2 * H, _mm256_mul_ps(_mm256_mul_ps(dcv, i), _mm256_sub_ps(one, _mm256_mul_ps(g, g))));
    _mm256_storeu_ps(dg + H, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dcv, _mm256_loadu_ps(cPrev)), f), _mm256_sub_ps(one, f)));
    _mm256_storeu_ps(dc, _mm256_mul_ps(dcv, f));
}

/// One LSTM step backward for one batch row: with d = gy + dh (the output's gradient and the
/// hidden state's from step t + 1) and tc = tanh(c),
///   dc += d ⊙ o ⊙ (1 − tc²);  dg = (dc ⊙ g ⊙ i(1 − i), dc ⊙ cPrev ⊙ f(1 − f), dc ⊙ i ⊙ (1 − g²), d ⊙ tc ⊙ o(1 − o));
///   dc ← dc ⊙ f (the cell gradient handed to step t − 1).
/// Any H: the last lanes go through an eight-float copy.
__attribute__((target("avx2,fma")))
static inline void cortex_lstm_cell_backward_avx2(const float *gy, const float *dh, const float *act, const float *c,
                                                  const float *cPrev, float *dc, float *dg, long H) {
    const long body = H - H % 8;
    for (long j = 0; j < body; j += 8) cortex_lstm_backward8(gy + j, dh + j, act + j, c + j, cPrev + j, dc + j, dg + j, H);
    if (body == H) return;
    float ty[8] = {0}, th[8] = {0}, ta[32] = {0}, tc[8] = {0}, tp[8] = {0}, tdc[8] = {0}, tg[32];
    const long r = H - body;
    for (long k = 0; k < r; k++) {
        ty[k] = gy[body + k];
        th[k] = dh[body + k];
        for (int gate = 0; gate < 4; gate++) ta[gate * 8 + k] = act[gate * H + body + k];
        tc[k] = c[body + k];
        tp[k] = cPrev[body + k];
        tdc[k] = dc[body + k];
    }
    cortex_lstm_backward8(ty, th, ta, tc, tp, tdc, tg, 8);
    for (long k = 0; k < r; k++) {
        for (int gate = 0; gate < 4; gate++) dg[gate * H + body + k] = tg[gate * 8 + k];
        dc[body + k] = tdc[k];
    }
}

/// One attention row in place: softmax over its first `end` floats (the keys the query sees),
/// zeros in `[end, length)`; a row whose visible scores are all −∞ becomes all zeros (it attends
/// to nothing). Any `end`: the last floats through masked loads and stores.
__attribute__((target("avx2,fma")))
static inline void cortex_softmax_prefix_avx2(float *row, long end, long length) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const long body = end - end % 8;
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(end - body)), lanes);
    const __m256 negative = _mm256_set1_ps(-INFINITY);
    __m256 mv = negative;
    for (long j = 0; j < body; j += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(row + j));
    if (body < end) mv = _mm256_max_ps(mv, _mm256_blendv_ps(negative, _mm256_maskload_ps(row + body, tail), _mm256_castsi256_ps(tail)));
    const float maximum = cortex_hmax_avx2(mv);
    if (maximum == -INFINITY) {
        for (long j = 0; j < length; j++) row[j] = 0;
        return;
    }
    const __m256 m = _mm256_set1_ps(maximum);
    __m256 sum = _mm256_setzero_ps();
    for (long j = 0; j < body; j += 8) {
        const __m256 e = cortex_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(row + j), m));
        sum = _mm256_add_ps(sum, e);
        _mm256_storeu_ps(row + j, e);
    }
    if (body < end) {
        const __m256 e = _mm256_and_ps(cortex_exp_avx2(_mm256_sub_ps(_mm256_maskload_ps(row + body, tail), m)),
                                       _mm256_castsi256_ps(tail));
        sum = _mm256_add_ps(sum, e);
        _mm256_maskstore_ps(row + body, tail, e);
    }
    const __m256 reciprocal = _mm256_set1_ps(1.0f / cortex_hsum_avx2(sum));
    for (long j = 0; j < body; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), reciprocal));
    if (body < end) _mm256_maskstore_ps(row + body, tail, _mm256_mul_ps(_mm256_maskload_ps(row + body, tail), reciprocal));
    for (long j = end; j < length; j++) row[j] = 0;
}

/// One attention row's softmax backward in place, any length: g ← y ⊙ (g − Σ g ⊙ y).
__attribute__((target("avx2,fma")))
static inline void cortex_softmax_backward_row_avx2(const float *y, float *g, long length) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const long body = length - length % 8;
    const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(length - body)), lanes);
    __m256 sum = _mm256_setzero_ps();
    for (long j = 0; j < body; j += 8) sum = _mm256_fmadd_ps(_mm256_loadu_ps(g + j), _mm256_loadu_ps(y + j), sum);
    if (body < length)
        sum = _mm256_fmadd_ps(_mm256_maskload_ps(g + body, tail), _mm256_maskload_ps(y + body, tail), sum);
    const __m256 total = _mm256_set1_ps(cortex_hsum_avx2(sum));
    for (long j = 0; j < body; j += 8)
        _mm256_storeu_ps(g + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), _mm256_sub_ps(_mm256_loadu_ps(g + j), total)));
    if (body < length) {
        const __m256 v = _mm256_mul_ps(_mm256_maskload_ps(y + body, tail), _mm256_sub_ps(_mm256_maskload_ps(g + body, tail), total));
        _mm256_maskstore_ps(g + body, tail, v);
    }
}

/// Softmax backward over contiguous lines (length a multiple of 8): dx = y ⊙ (g − Σ g ⊙ y).
__attribute__((target("avx2,fma")))
static inline void cortex_softmax_backward_lines_avx2(const float *y, const float *g, float *dx, long lines, long length) {
    for (long line = 0; line < lines; line++) {
        const float *yl = y + line * length, *gl = g + line * length;
        float *dl = dx + line * length;
        __m256 sum = _mm256_setzero_ps();
        for (long j = 0; j < length; j += 8) sum = _mm256_fmadd_ps(_mm256_loadu_ps(gl + j), _mm256_loadu_ps(yl + j), sum);
        const __m256 total = _mm256_set1_ps(cortex_hsum_avx2(sum));
        for (long j = 0; j < length; j += 8) {
            const __m256 yv = _mm256_loadu_ps(yl + j);
            _mm256_storeu_ps(dl + j, _mm256_mul_ps(yv, _mm256_sub_ps(_mm256_loadu_ps(gl + j), total)));
        }
    }
}

/// LayerNorm forward over `rows` rows of `D` floats (D a multiple of 8): mean, biased variance,
/// rstd = 1/√(var + ε), y = (x − mean)·rstd·w + b (w, b may be NULL: no affine).
__attribute__((target("avx2,fma")))
static inline void cortex_layernorm_forward_avx2(const float *x, const float *w, const float *b, float *y,
                                                 float *mean, float *rstd, long rows, long D, float epsilon) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * D;
        float *out = y + r * D;
        __m256 sum = _mm256_setzero_ps();
        for (long j = 0; j < D; j += 8) sum = _mm256_add_ps(sum, _mm256_loadu_ps(row + j));
        const float m = cortex_hsum_avx2(sum) / (float)D;
        const __m256 mv = _mm256_set1_ps(m);
        __m256 squares = _mm256_setzero_ps();
        for (long j = 0; j < D; j += 8) {
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + j), mv);
            squares = _mm256_fmadd_ps(d, d, squares);
        }
        const float rs = 1.0f / sqrtf(cortex_hsum_avx2(squares) / (float)D + epsilon);
        mean[r] = m;
        rstd[r] = rs;
        const __m256 rv = _mm256_set1_ps(rs);
        if (w && b) {
            for (long j = 0; j < D; j += 8) {
                const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), mv), rv);
                _mm256_storeu_ps(out + j, _mm256_fmadd_ps(xhat, _mm256_loadu_ps(w + j), _mm256_loadu_ps(b + j)));
            }
        } else {
            for (long j = 0; j < D; j += 8)
                _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), mv), rv));
        }
    }
}

/// LayerNorm backward (D a multiple of 8), with ĝ = dy·w (w NULL: ones):
/// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) when dx is not NULL; dw += dy·x̂ and db += dy when they are not NULL.
__attribute__((target("avx2,fma")))
static inline void cortex_layernorm_backward_avx2(const float *x, const float *w, const float *dy, const float *mean,
                                                  const float *rstd, float *dx, float *dw, float *db, long rows, long D) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * D, *gy = dy + r * D;
        const __m256 mv = _mm256_set1_ps(mean[r]), rv = _mm256_set1_ps(rstd[r]);
        __m256 sumG = _mm256_setzero_ps(), sumGX = _mm256_setzero_ps();
        for (long j = 0; j < D; j += 8) {
            const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), mv), rv);
            const __m256 g = _mm256_loadu_ps(gy + j);
            const __m256 ghat = _mm256_mul_ps(g, w ? _mm256_loadu_ps(w + j) : one);
            sumG = _mm256_add_ps(sumG, ghat);
            sumGX = _mm256_fmadd_ps(ghat, xhat, sumGX);
            if (dw) {
                _mm256_storeu_ps(dw + j, _mm256_fmadd_ps(g, xhat, _mm256_loadu_ps(dw + j)));
                _mm256_storeu_ps(db + j, _mm256_add_ps(g, _mm256_loadu_ps(db + j)));
            }
        }
        if (!dx) continue;
        const __m256 meanG = _mm256_set1_ps(cortex_hsum_avx2(sumG) / (float)D);
        const __m256 meanGX = _mm256_set1_ps(cortex_hsum_avx2(sumGX) / (float)D);
        float *out = dx + r * D;
        for (long j = 0; j < D; j += 8) {
            const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), mv), rv);
            const __m256 ghat = _mm256_mul_ps(_mm256_loadu_ps(gy + j), w ? _mm256_loadu_ps(w + j) : one);
            const __m256 inner = _mm256_fnmadd_ps(xhat, meanGX, _mm256_sub_ps(ghat, meanG));
            _mm256_storeu_ps(out + j, _mm256_mul_ps(rv, inner));
        }
    }
}

/// Eight floats `source[0], source[stride], …, source[7·stride]` for stride 2 or 4, from
/// `2·stride` … `8·stride` consecutive floats by in-lane shuffles and one permutation (AVX2
/// gathers are slower on the AMD cores here). Reads `source[0 … 8·stride − 1]`.
__attribute__((target("avx2,fma")))
static inline __m256 cortex_load_strided_avx2(const float *source, long stride) {
    if (stride == 2) {
        const __m256 even = _mm256_shuffle_ps(_mm256_loadu_ps(source), _mm256_loadu_ps(source + 8), 0x88);
        // lanes: 0 2 8 10 | 4 6 12 14 → 0 2 4 6 8 10 12 14
        return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
    }
    const __m256 a = _mm256_shuffle_ps(_mm256_loadu_ps(source), _mm256_loadu_ps(source + 8), 0x00);
    const __m256 b = _mm256_shuffle_ps(_mm256_loadu_ps(source + 16), _mm256_loadu_ps(source + 24), 0x00);
    // a: 0 0 8 8 | 4 4 12 12, b: 16 16 24 24 | 20 20 28 28 → 0 8 16 24 | 4 12 20 28
    const __m256 mixed = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_permutevar8x32_ps(mixed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// One row of im2col's column matrix for kernel tap (c, i, j) over `images` images: for image n
/// and output pixel (y, x) it writes `plane_n[(y·sH + rowOffset)·W + x·sW + columnOffset]`, or 0
/// outside rows yLo..<yHi and columns xLo..<xHi. `plane` is image 0's channel c; images are
/// `imageStride` floats apart; each image's P = oH·oW outputs follow one another in `out`.
/// Strides 1, 2 and 4 move eight floats at a time while the loads stay inside the plane.
__attribute__((target("avx2,fma")))
static inline void cortex_im2col_tap_avx2(const float *plane, long imageStride, long images, float *out,
                                          long H, long W, long oH, long oW, long sH, long sW,
                                          long rowOffset, long columnOffset, long yLo, long yHi, long xLo, long xHi) {
    const long P = oH * oW;
    const int vector = sW == 1 || sW == 2 || sW == 4;
    for (long n = 0; n < images; n++) {
        const float *image = plane + n * imageStride;
        const float *end = image + H * W;  // loads stay below this
        float *o = out + n * P;
        for (long k = 0; k < yLo * oW; k++) o[k] = 0;
        for (long y = yLo; y < yHi; y++) {
            const float *source = image + (y * sH + rowOffset) * W + columnOffset;
            float *line = o + y * oW;
            long x = 0;
            for (; x < xLo; x++) line[x] = 0;
            if (vector) {
                for (; x + 8 <= xHi && source + (x + 8) * sW <= end; x += 8) {
                    __m256 v = sW == 1 ? _mm256_loadu_ps(source + x) : cortex_load_strided_avx2(source + x * sW, sW);
                    _mm256_storeu_ps(line + x, v);
                }
            }
            for (; x < xHi; x++) line[x] = source[x * sW];
            for (; x < oW; x++) line[x] = 0;
        }
        for (long k = yHi * oW; k < oH * oW; k++) o[k] = 0;
    }
}

/// 2×2, stride-2 max pooling of `planes` planes of H×W (oH = H/2, oW = W/2 outputs each, floors),
/// with the argmax (an index into the plane) of each window: the first maximum in row-major
/// order, a NaN winning over numbers (the last NaN), as the scalar loop. Eight windows at a
/// time, a row's last few through masked loads and stores (a scalar tail took a quarter of
/// LeNet's training step: its 14- and 5-window rows are mostly tail).
__attribute__((target("avx2,fma")))
static inline void cortex_max_pool_2x2_avx2(const float *x, float *y, int *arg, long planes, long H, long W,
                                            long oH, long oW) {
    const __m256i lane = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i one = _mm256_set1_epi32(1), down = _mm256_set1_epi32((int)W), downRight = _mm256_set1_epi32((int)W + 1);
    for (long plane = 0; plane < planes; plane++) {
        const float *source = x + plane * H * W;
        float *out = y + plane * oH * oW;
        int *index = arg + plane * oH * oW;
        for (long oy = 0; oy < oH; oy++) {
            const long top = 2 * oy * W;
            const float *t = source + top, *b = t + W;
            float *o = out + oy * oW;
            int *a = index + oy * oW;
            for (long ox = 0; ox < oW; ox += 8) {
                // A row's last windows (fewer than eight) through masked loads and stores.
                const long count = oW - ox < 8 ? oW - ox : 8;
                __m256 t0, t1, b0, b1;
                __m256i keep = _mm256_set1_epi32(-1);
                if (count == 8) {
                    t0 = _mm256_loadu_ps(t + 2 * ox); t1 = _mm256_loadu_ps(t + 2 * ox + 8);
                    b0 = _mm256_loadu_ps(b + 2 * ox); b1 = _mm256_loadu_ps(b + 2 * ox + 8);
                } else {
                    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(2 * count)), lanes);
                    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(2 * count - 8)), lanes);
                    t0 = _mm256_maskload_ps(t + 2 * ox, m0); t1 = _mm256_maskload_ps(t + 2 * ox + 8, m1);
                    b0 = _mm256_maskload_ps(b + 2 * ox, m0); b1 = _mm256_maskload_ps(b + 2 * ox + 8, m1);
                    keep = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lanes);
                }
                // even and odd columns, in order (shuffle within lanes, then 64-bit permute)
                const __m256 te = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0x88)), 0xD8));
                const __m256 to = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0xDD)), 0xD8));
                const __m256 be = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0x88)), 0xD8));
                const __m256 bo = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0xDD)), 0xD8));
                __m256 best = te;
                __m256i offset = _mm256_setzero_si256();
                __m256 m = _mm256_or_ps(_mm256_cmp_ps(to, best, _CMP_GT_OQ), _mm256_cmp_ps(to, to, _CMP_UNORD_Q));
                best = _mm256_blendv_ps(best, to, m);
                offset = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(offset), _mm256_castsi256_ps(one), m));
                m = _mm256_or_ps(_mm256_cmp_ps(be, best, _CMP_GT_OQ), _mm256_cmp_ps(be, be, _CMP_UNORD_Q));
                best = _mm256_blendv_ps(best, be, m);
                offset = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(offset), _mm256_castsi256_ps(down), m));
                m = _mm256_or_ps(_mm256_cmp_ps(bo, best, _CMP_GT_OQ), _mm256_cmp_ps(bo, bo, _CMP_UNORD_Q));
                best = _mm256_blendv_ps(best, bo, m);
                offset = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(offset), _mm256_castsi256_ps(downRight), m));
                const __m256i base = _mm256_add_epi32(_mm256_set1_epi32((int)(top + 2 * ox)), lane);
                _mm256_maskstore_ps(o + ox, keep, best);
                _mm256_maskstore_epi32(a + ox, keep, _mm256_add_epi32(base, offset));
            }
        }
    }
}

/// col2im's adjoint step for one kernel tap over `images` images: adds row `out` (image n's P
/// outputs) back into `plane_n[(y·sH + rowOffset)·W + x·sW + columnOffset]` for rows yLo..<yHi and
/// columns xLo..<xHi (the taps outside read zero padding and give nothing back). Stride 1 adds
/// eight floats at a time.
__attribute__((target("avx2,fma")))
static inline void cortex_col2im_tap_avx2(const float *col, long imageStride, long images, float *plane,
                                          long W, long oH, long oW, long sH, long sW,
                                          long rowOffset, long columnOffset, long yLo, long yHi, long xLo, long xHi) {
    const long P = oH * oW;
    for (long n = 0; n < images; n++) {
        float *image = plane + n * imageStride;
        const float *from = col + n * P;
        for (long y = yLo; y < yHi; y++) {
            float *target = image + (y * sH + rowOffset) * W + columnOffset;
            const float *line = from + y * oW;
            long x = xLo;
            if (sW == 1) {
                for (; x + 8 <= xHi; x += 8)
                    _mm256_storeu_ps(target + x, _mm256_add_ps(_mm256_loadu_ps(target + x), _mm256_loadu_ps(line + x)));
            }
            for (; x < xHi; x++) target[x * sW] += line[x];
        }
    }
}

/// Direct stride-1 convolution for layers with few weights per output (LeNet's first layer:
/// one channel, 5×5), where im2col's column matrix and OpenBLAS's packing of it cost more than
/// the arithmetic. Scratch `pad` holds one image zero-padded to C × Hp × Wp with Hp = oH + kH − 1
/// and Wp = 16·⌈oW/16⌉ + kW − 1, so every eight-float load of a row stays inside it.
static inline long cortex_direct_padded_width(long oW, long kW) { return (oW + 15) / 16 * 16 + kW - 1; }

__attribute__((target("avx2,fma")))
static inline void cortex_direct_pad_image(const float *x, long C, long H, long W, long pH, long pW,
                                           float *pad, long Hp, long Wp) {
    for (long k = 0; k < C * Hp * Wp; k++) pad[k] = 0;
    for (long c = 0; c < C; c++)
        for (long r = 0; r < H; r++) {
            const long row = r + pH;
            if (row < 0 || row >= Hp) continue;
            float *to = pad + (c * Hp + row) * Wp + pW;
            const float *from = x + (c * H + r) * W;
            for (long q = 0; q < W && q + pW < Wp; q++) to[q] = from[q];
        }
}

/// y[o, y, x] = bias[o] + Σ_{c,i,j} w[o,c,i,j] · pad[c, y+i, x+j] for one image (bias may be NULL);
/// four output channels × sixteen columns per step, in eight named registers (an array of
/// accumulators was kept on the stack by the compiler).
__attribute__((target("avx2,fma")))
static inline void cortex_direct_conv_forward_avx2(const float *pad, long C, long Hp, long Wp, const float *w, long O,
                                                   long kH, long kW, const float *bias, float *y, long oH, long oW) {
    const long taps = C * kH * kW;
    float tail[16];
    for (long o0 = 0; o0 < O; o0 += 4) {
        const long o1 = o0 + 1 < O ? o0 + 1 : O - 1, o2 = o0 + 2 < O ? o0 + 2 : O - 1, o3 = o0 + 3 < O ? o0 + 3 : O - 1;
        const float *w0 = w + o0 * taps, *w1 = w + o1 * taps, *w2 = w + o2 * taps, *w3 = w + o3 * taps;
        for (long yy = 0; yy < oH; yy++) {
            for (long x0 = 0; x0 < oW; x0 += 16) {
                __m256 a00 = _mm256_set1_ps(bias ? bias[o0] : 0.0f), a01 = a00;
                __m256 a10 = _mm256_set1_ps(bias ? bias[o1] : 0.0f), a11 = a10;
                __m256 a20 = _mm256_set1_ps(bias ? bias[o2] : 0.0f), a21 = a20;
                __m256 a30 = _mm256_set1_ps(bias ? bias[o3] : 0.0f), a31 = a30;
                for (long c = 0; c < C; c++)
                    for (long i = 0; i < kH; i++) {
                        const float *prow = pad + (c * Hp + yy + i) * Wp + x0;
                        const long t = (c * kH + i) * kW;
                        for (long j = 0; j < kW; j++) {
                            const __m256 v0 = _mm256_loadu_ps(prow + j), v1 = _mm256_loadu_ps(prow + j + 8);
                            __m256 wv = _mm256_broadcast_ss(w0 + t + j);
                            a00 = _mm256_fmadd_ps(wv, v0, a00);
                            a01 = _mm256_fmadd_ps(wv, v1, a01);
                            wv = _mm256_broadcast_ss(w1 + t + j);
                            a10 = _mm256_fmadd_ps(wv, v0, a10);
                            a11 = _mm256_fmadd_ps(wv, v1, a11);
                            wv = _mm256_broadcast_ss(w2 + t + j);
                            a20 = _mm256_fmadd_ps(wv, v0, a20);
                            a21 = _mm256_fmadd_ps(wv, v1, a21);
                            wv = _mm256_broadcast_ss(w3 + t + j);
                            a30 = _mm256_fmadd_ps(wv, v0, a30);
                            a31 = _mm256_fmadd_ps(wv, v1, a31);
                        }
                    }
                const long valid = oW - x0 < 16 ? oW - x0 : 16;
                const __m256 results[8] = {a00, a01, a10, a11, a20, a21, a30, a31};
                for (int q = 0; q < 4 && o0 + q < O; q++) {
                    float *out = y + ((o0 + q) * oH + yy) * oW + x0;
                    if (valid == 16) {
                        _mm256_storeu_ps(out, results[2 * q]);
                        _mm256_storeu_ps(out + 8, results[2 * q + 1]);
                    } else {
                        _mm256_storeu_ps(tail, results[2 * q]);
                        _mm256_storeu_ps(tail + 8, results[2 * q + 1]);
                        for (long k = 0; k < valid; k++) out[k] = tail[k];
                    }
                }
            }
        }
    }
}

/// The weight gradient of one image added into dWᵀ (`[C·kH·kW, O]`, the conv's partial-sum
/// layout): dW[o,c,i,j] += Σ_{y,x} dy[o,y,x] · pad[c,y+i,x+j], with `dyPad` the image's output
/// gradient in rows of `oWp` (a multiple of 8) floats, zero past oW; and each channel's bias
/// gradient Σ dy added into `biasGradient` when not NULL. Four channels in named registers.
__attribute__((target("avx2,fma")))
static inline void cortex_direct_conv_weight_grad_avx2(const float *pad, long C, long Hp, long Wp, const float *dyPad,
                                                       long O, long kH, long kW, long oH, long oWp,
                                                       float *gradWeightT, float *biasGradient) {
    const long plane = oH * oWp;
    for (long o0 = 0; o0 < O; o0 += 4) {
        const long o1 = o0 + 1 < O ? o0 + 1 : O - 1, o2 = o0 + 2 < O ? o0 + 2 : O - 1, o3 = o0 + 3 < O ? o0 + 3 : O - 1;
        const float *d0 = dyPad + o0 * plane, *d1 = dyPad + o1 * plane, *d2 = dyPad + o2 * plane, *d3 = dyPad + o3 * plane;
        for (long c = 0; c < C; c++)
            for (long i = 0; i < kH; i++)
                for (long j = 0; j < kW; j++) {
                    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                    for (long yy = 0; yy < oH; yy++) {
                        const float *prow = pad + (c * Hp + yy + i) * Wp + j;
                        const long r = yy * oWp;
                        for (long x = 0; x < oWp; x += 8) {
                            const __m256 xv = _mm256_loadu_ps(prow + x);
                            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(d0 + r + x), xv, s0);
                            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(d1 + r + x), xv, s1);
                            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(d2 + r + x), xv, s2);
                            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(d3 + r + x), xv, s3);
                        }
                    }
                    float *row = gradWeightT + ((c * kH + i) * kW + j) * O + o0;
                    row[0] += cortex_hsum_avx2(s0);
                    if (o0 + 1 < O) row[1] += cortex_hsum_avx2(s1);
                    if (o0 + 2 < O) row[2] += cortex_hsum_avx2(s2);
                    if (o0 + 3 < O) row[3] += cortex_hsum_avx2(s3);
                }
    }
    if (biasGradient)
        for (long o = 0; o < O; o++) {
            __m256 acc = _mm256_setzero_ps();
            for (long k = 0; k < plane; k += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(dyPad + o * plane + k));
            biasGradient[o] += cortex_hsum_avx2(acc);
        }
}

/// C[M, N] = op(A)[M, K] · B[K, N], row-major, without packing: op(A)[m, k] is A[m·lda + k]
/// (transA = 0) or A[k·lda + m] (transA = 1). For the convolutions' products whose M or K is a
/// small output-channel count (up to 16): there OpenBLAS spent a third of its time packing the
/// column matrix, which this reads in place, 24 columns × 4 rows (12 registers) at a time, the
/// strip of B staying in L1 while the rows of A pass over it (it must: with 256+ rows it spills
/// to L2 and the loads stall).
__attribute__((target("avx2,fma")))
static inline void cortex_gemm_strip_avx2(long M, long K, const float *A, long rowStep, long kStep,
                                          const float *B, long ldb, float *C, long ldc) {
    for (long m0 = 0; m0 < M; m0 += 4) {
        const long m1 = m0 + 1 < M ? m0 + 1 : M - 1, m2 = m0 + 2 < M ? m0 + 2 : M - 1, m3 = m0 + 3 < M ? m0 + 3 : M - 1;
        const float *a0 = A + m0 * rowStep, *a1 = A + m1 * rowStep, *a2 = A + m2 * rowStep, *a3 = A + m3 * rowStep;
        __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
        __m256 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
        for (long k = 0; k < K; k++) {
            const float *b = B + k * ldb;
            const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), b2 = _mm256_loadu_ps(b + 16);
            __m256 a = _mm256_broadcast_ss(a0 + k * kStep);
            c00 = _mm256_fmadd_ps(a, b0, c00);
            c01 = _mm256_fmadd_ps(a, b1, c01);
            c02 = _mm256_fmadd_ps(a, b2, c02);
            a = _mm256_broadcast_ss(a1 + k * kStep);
            c10 = _mm256_fmadd_ps(a, b0, c10);
            c11 = _mm256_fmadd_ps(a, b1, c11);
            c12 = _mm256_fmadd_ps(a, b2, c12);
            a = _mm256_broadcast_ss(a2 + k * kStep);
            c20 = _mm256_fmadd_ps(a, b0, c20);
            c21 = _mm256_fmadd_ps(a, b1, c21);
            c22 = _mm256_fmadd_ps(a, b2, c22);
            a = _mm256_broadcast_ss(a3 + k * kStep);
            c30 = _mm256_fmadd_ps(a, b0, c30);
            c31 = _mm256_fmadd_ps(a, b1, c31);
            c32 = _mm256_fmadd_ps(a, b2, c32);
        }
        float *c = C + m0 * ldc;
        _mm256_storeu_ps(c, c00);
        _mm256_storeu_ps(c + 8, c01);
        _mm256_storeu_ps(c + 16, c02);
        if (m0 + 1 < M) {
            _mm256_storeu_ps(c + ldc, c10);
            _mm256_storeu_ps(c + ldc + 8, c11);
            _mm256_storeu_ps(c + ldc + 16, c12);
        }
        if (m0 + 2 < M) {
            _mm256_storeu_ps(c + 2 * ldc, c20);
            _mm256_storeu_ps(c + 2 * ldc + 8, c21);
            _mm256_storeu_ps(c + 2 * ldc + 16, c22);
        }
        if (m0 + 3 < M) {
            _mm256_storeu_ps(c + 3 * ldc, c30);
            _mm256_storeu_ps(c + 3 * ldc + 8, c31);
            _mm256_storeu_ps(c + 3 * ldc + 16, c32);
        }
    }
}

/// The last columns (fewer than 24): eight at a time, the final partial eight through masks.
__attribute__((target("avx2,fma")))
static inline void cortex_gemm_narrow_avx2(long M, long N, long K, const float *A, long rowStep, long kStep,
                                           const float *B, long ldb, float *C, long ldc) {
    for (long n0 = 0; n0 < N; n0 += 8) {
        const long width = N - n0 < 8 ? N - n0 : 8;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)width), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (long m0 = 0; m0 < M; m0 += 4) {
            const long m1 = m0 + 1 < M ? m0 + 1 : M - 1, m2 = m0 + 2 < M ? m0 + 2 : M - 1, m3 = m0 + 3 < M ? m0 + 3 : M - 1;
            const float *a0 = A + m0 * rowStep, *a1 = A + m1 * rowStep, *a2 = A + m2 * rowStep, *a3 = A + m3 * rowStep;
            __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
            for (long k = 0; k < K; k++) {
                const __m256 b = _mm256_maskload_ps(B + k * ldb + n0, mask);
                c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + k * kStep), b, c0);
                c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1 + k * kStep), b, c1);
                c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a2 + k * kStep), b, c2);
                c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + k * kStep), b, c3);
            }
            float *c = C + m0 * ldc + n0;
            _mm256_maskstore_ps(c, mask, c0);
            if (m0 + 1 < M) _mm256_maskstore_ps(c + ldc, mask, c1);
            if (m0 + 2 < M) _mm256_maskstore_ps(c + 2 * ldc, mask, c2);
            if (m0 + 3 < M) _mm256_maskstore_ps(c + 3 * ldc, mask, c3);
        }
    }
}

/// Convolution forward without a column matrix ("implicit GEMM"): for the output pixels
/// `j = n·P + p` in `[first, last)`,
///   y[n·O·P + o·P + p] = bias[o] + Σ_k wt[k·O + o] · x[n·imageStride + (p / oW)·sH·W + (p % oW)·sW + tap[k]],
/// i.e. a convolution whose input needs no padding (the caller pads), `tap[k]` the offset of
/// kernel tap k (channel, row, column) from a receptive field's corner, `wt` the weights as
/// [K, O] and O a multiple of 16. Six pixels × sixteen output channels stay in twelve registers;
/// each step loads sixteen weights and broadcasts one input value per pixel straight from the
/// image, so nothing is copied or packed.
__attribute__((target("avx2,fma")))
static inline void cortex_conv_implicit_forward_avx2(const float *x, long imageStride, long W, long oW, long P,
                                                     long sH, long sW, const int *tap, long K, const float *wt,
                                                     long O, const float *bias, float *y, long first, long last) {
    for (long j0 = first; j0 < last; j0 += 6) {
        const long rows = last - j0 < 6 ? last - j0 : 6;
        const float *src[6];
        long out[6];
        for (long r = 0; r < 6; r++) {
            const long j = j0 + (r < rows ? r : rows - 1), n = j / P, p = j % P;
            src[r] = x + n * imageStride + (p / oW) * sH * W + (p % oW) * sW;
            out[r] = n * O * P + p;
        }
        const float *s0 = src[0], *s1 = src[1], *s2 = src[2], *s3 = src[3], *s4 = src[4], *s5 = src[5];
        for (long o0 = 0; o0 < O; o0 += 16) {
            const __m256 b0 = bias ? _mm256_loadu_ps(bias + o0) : _mm256_setzero_ps();
            const __m256 b1 = bias ? _mm256_loadu_ps(bias + o0 + 8) : _mm256_setzero_ps();
            __m256 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1;
            __m256 a30 = b0, a31 = b1, a40 = b0, a41 = b1, a50 = b0, a51 = b1;
            const float *w = wt + o0;
            for (long k = 0; k < K; k++, w += O) {
                const long off = tap[k];
                const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
                __m256 v = _mm256_broadcast_ss(s0 + off);
                a00 = _mm256_fmadd_ps(v, w0, a00); a01 = _mm256_fmadd_ps(v, w1, a01);
                v = _mm256_broadcast_ss(s1 + off);
                a10 = _mm256_fmadd_ps(v, w0, a10); a11 = _mm256_fmadd_ps(v, w1, a11);
                v = _mm256_broadcast_ss(s2 + off);
                a20 = _mm256_fmadd_ps(v, w0, a20); a21 = _mm256_fmadd_ps(v, w1, a21);
                v = _mm256_broadcast_ss(s3 + off);
                a30 = _mm256_fmadd_ps(v, w0, a30); a31 = _mm256_fmadd_ps(v, w1, a31);
                v = _mm256_broadcast_ss(s4 + off);
                a40 = _mm256_fmadd_ps(v, w0, a40); a41 = _mm256_fmadd_ps(v, w1, a41);
                v = _mm256_broadcast_ss(s5 + off);
                a50 = _mm256_fmadd_ps(v, w0, a50); a51 = _mm256_fmadd_ps(v, w1, a51);
            }
            float t[6][16];
            _mm256_storeu_ps(t[0], a00); _mm256_storeu_ps(t[0] + 8, a01);
            _mm256_storeu_ps(t[1], a10); _mm256_storeu_ps(t[1] + 8, a11);
            _mm256_storeu_ps(t[2], a20); _mm256_storeu_ps(t[2] + 8, a21);
            _mm256_storeu_ps(t[3], a30); _mm256_storeu_ps(t[3] + 8, a31);
            _mm256_storeu_ps(t[4], a40); _mm256_storeu_ps(t[4] + 8, a41);
            _mm256_storeu_ps(t[5], a50); _mm256_storeu_ps(t[5] + 8, a51);
            for (long c = 0; c < 16; c++) {
                float *row = y + (o0 + c) * P;
                for (long r = 0; r < rows; r++) row[out[r]] = t[r][c];
            }
        }
    }
}

/// `y[r·N + n] (+)= Σ_k x[r·K + k] · w[n·K + k]` for the outputs n in `[first, last)`: a fully
/// connected layer's forward (x [rows, K], w [N, K] as PyTorch stores it) for a few rows, with
/// no packing. Four rows × three outputs of eight-lane partial sums stay in twelve registers
/// while both operands are read along k in place; the last k (K not a multiple of 8) through
/// masks. For the small batches of acting and of a DQN update this skips OpenBLAS's packing of
/// the whole weight matrix on every call (a third of its time on the Nature net's 3136 → 512
/// layer, where this kernel ends up level with OpenBLAS's AVX-512 kernel; the MinAtar update
/// gains 27 %).
__attribute__((target("avx2,fma")))
static inline void cortex_linear_rows_avx2(const float *x, long rows, long K, const float *w, float *y, long N,
                                           long first, long last, int accumulate) {
    const long tail = K % 8, body = K - tail;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (long n0 = first; n0 < last; n0 += 3) {
        const long outs = last - n0 < 3 ? last - n0 : 3;
        const float *w0 = w + n0 * K, *w1 = w + (outs > 1 ? n0 + 1 : n0) * K, *w2 = w + (outs > 2 ? n0 + 2 : n0) * K;
        for (long r0 = 0; r0 < rows; r0 += 4) {
            const long count = rows - r0 < 4 ? rows - r0 : 4;
            const float *x0 = x + r0 * K, *x1 = x + (r0 + (count > 1 ? 1 : 0)) * K;
            const float *x2 = x + (r0 + (count > 2 ? 2 : 0)) * K, *x3 = x + (r0 + (count > 3 ? 3 : 0)) * K;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
            __m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
#define CORTEX_LINEAR_STEP(LOAD)                                                                   \
    {                                                                                              \
        const __m256 v0 = LOAD(w0), v1 = LOAD(w1), v2 = LOAD(w2);                                 \
        __m256 u = LOAD(x0);                                                                       \
        a00 = _mm256_fmadd_ps(u, v0, a00); a01 = _mm256_fmadd_ps(u, v1, a01); a02 = _mm256_fmadd_ps(u, v2, a02); \
        u = LOAD(x1);                                                                              \
        a10 = _mm256_fmadd_ps(u, v0, a10); a11 = _mm256_fmadd_ps(u, v1, a11); a12 = _mm256_fmadd_ps(u, v2, a12); \
        u = LOAD(x2);                                                                              \
        a20 = _mm256_fmadd_ps(u, v0, a20); a21 = _mm256_fmadd_ps(u, v1, a21); a22 = _mm256_fmadd_ps(u, v2, a22); \
        u = LOAD(x3);                                                                              \
        a30 = _mm256_fmadd_ps(u, v0, a30); a31 = _mm256_fmadd_ps(u, v1, a31); a32 = _mm256_fmadd_ps(u, v2, a32); \
    }
#define CORTEX_LOAD_AT(p) _mm256_loadu_ps((p) + k)
#define CORTEX_LOAD_TAIL(p) _mm256_maskload_ps((p) + body, mask)
            for (long k = 0; k < body; k += 8) CORTEX_LINEAR_STEP(CORTEX_LOAD_AT)
            if (tail) CORTEX_LINEAR_STEP(CORTEX_LOAD_TAIL)
#undef CORTEX_LOAD_AT
#undef CORTEX_LOAD_TAIL
#undef CORTEX_LINEAR_STEP
            const float sums[4][3] = {
                {cortex_hsum_avx2(a00), cortex_hsum_avx2(a01), cortex_hsum_avx2(a02)},
                {cortex_hsum_avx2(a10), cortex_hsum_avx2(a11), cortex_hsum_avx2(a12)},
                {cortex_hsum_avx2(a20), cortex_hsum_avx2(a21), cortex_hsum_avx2(a22)},
                {cortex_hsum_avx2(a30), cortex_hsum_avx2(a31), cortex_hsum_avx2(a32)}};
            for (long r = 0; r < count; r++) {
                float *out = y + (r0 + r) * N + n0;
                for (long j = 0; j < outs; j++) out[j] = accumulate ? out[j] + sums[r][j] : sums[r][j];
            }
        }
    }
}

__attribute__((target("avx2,fma")))
static inline void cortex_gemm_small_avx2(long M, long N, long K, const float *A, long lda, int transA,
                                          const float *B, long ldb, float *C, long ldc) {
    const long rowStep = transA ? 1 : lda, kStep = transA ? lda : 1;
    long n0 = 0;
    for (; n0 + 24 <= N; n0 += 24) cortex_gemm_strip_avx2(M, K, A, rowStep, kStep, B + n0, ldb, C + n0, ldc);
    if (n0 < N) cortex_gemm_narrow_avx2(M, N - n0, K, A, rowStep, kStep, B + n0, ldb, C + n0, ldc);
}

/// Whether this CPU and OS run AVX-512F code (CPUID leaf 7 EBX bit 16, and XCR0 saving the
/// opmask and all 512-bit registers besides the YMM state), on top of AVX2 and FMA.
static inline int cortex_cpu_has_avx512f(void) {
    if (!cortex_cpu_has_avx2_fma()) return 0;
    unsigned a, b, c, d, lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6u) != 0xE6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 16)) != 0;
}

/// Transposes sixteen rows of sixteen floats in registers (`r[i]` lane j becomes `r[j]` lane i):
/// pairs of rows interleaved, then pairs of pairs, then 128-bit lanes across groups of four.
__attribute__((target("avx512f")))
static inline void cortex_transpose16_avx512(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        const __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; c++) {
        const __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), v2 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
        const __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 w2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        r[c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(v2, w2, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v2, w2, 0xdd);
    }
}

/// The implicit-GEMM convolution forward of `cortex_conv_implicit_forward_avx2` (same indexing)
/// for O a multiple of 32, with the weights packed as `wp[(o / 32)·K·32 + k·32 + o % 32]` so each
/// block of 32 output channels streams through one contiguous slab. Eight pixels × 32 output
/// channels stay in 16 of the 32 ZMM registers (twelve pixels ran out of general registers for
/// their image pointers); each step loads two weight vectors and broadcasts one input value per
/// pixel. Eight pixels of one image are written as vectors along the pixel axis after an
/// in-register transpose (the AVX2 kernel stores every output alone: 12 % of its time on the
/// Nature DQN); a tile that crosses images is written value by value.
__attribute__((target("avx512f")))
static inline void cortex_conv_implicit_forward_avx512(const float *x, long imageStride, long W, long oW, long P,
                                                       long sH, long sW, const int *tap, long K, const float *wp,
                                                       long O, const float *bias, float *y, long first,
                                                       long last) {
    if (first >= last) return;
    long n = first / P, p = first % P, py = p / oW, px = p % oW;
    for (long j0 = first; j0 < last; j0 += 8) {
        const long rows = last - j0 < 8 ? last - j0 : 8;
        const float *src[8];
        long out[8];
        const long n0 = n, p0 = p;
        for (long r = 0; r < 8; r++) {
            if (r < rows) {
                src[r] = x + n * imageStride + py * sH * W + px * sW;
                out[r] = n * O * P + p;
                if (++p == P) { p = 0; py = 0; px = 0; n++; }
                else if (++px == oW) { px = 0; py++; }
            } else {
                src[r] = src[rows - 1];
                out[r] = out[rows - 1];
            }
        }
        const int oneImage = out[rows - 1] - out[0] == rows - 1;
        const __mmask16 mask = (__mmask16)((1u << rows) - 1);
        const float *s0 = src[0], *s1 = src[1], *s2 = src[2], *s3 = src[3];
        const float *s4 = src[4], *s5 = src[5], *s6 = src[6], *s7 = src[7];
        for (long o0 = 0; o0 < O; o0 += 32) {
            const __m512 b0 = bias ? _mm512_loadu_ps(bias + o0) : _mm512_setzero_ps();
            const __m512 b1 = bias ? _mm512_loadu_ps(bias + o0 + 16) : _mm512_setzero_ps();
            __m512 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
            __m512 a40 = b0, a41 = b1, a50 = b0, a51 = b1, a60 = b0, a61 = b1, a70 = b0, a71 = b1;
            const float *w = wp + o0 * K;
            for (long k = 0; k < K; k++, w += 32) {
                const long off = tap[k];
                const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
                __m512 v;
#define CORTEX_IMPLICIT_PIXEL(S, A0, A1) \
    v = _mm512_set1_ps(S[off]);          \
    A0 = _mm512_fmadd_ps(v, w0, A0);     \
    A1 = _mm512_fmadd_ps(v, w1, A1);
                CORTEX_IMPLICIT_PIXEL(s0, a00, a01) CORTEX_IMPLICIT_PIXEL(s1, a10, a11)
                CORTEX_IMPLICIT_PIXEL(s2, a20, a21) CORTEX_IMPLICIT_PIXEL(s3, a30, a31)
                CORTEX_IMPLICIT_PIXEL(s4, a40, a41) CORTEX_IMPLICIT_PIXEL(s5, a50, a51)
                CORTEX_IMPLICIT_PIXEL(s6, a60, a61) CORTEX_IMPLICIT_PIXEL(s7, a70, a71)
#undef CORTEX_IMPLICIT_PIXEL
            }
            const __m512 zero = _mm512_setzero_ps();
            __m512 lo[16] = {a00, a10, a20, a30, a40, a50, a60, a70, zero, zero, zero, zero, zero, zero, zero, zero};
            __m512 hi[16] = {a01, a11, a21, a31, a41, a51, a61, a71, zero, zero, zero, zero, zero, zero, zero, zero};
            if (oneImage) {
                cortex_transpose16_avx512(lo);
                cortex_transpose16_avx512(hi);
                float *base = y + n0 * O * P + o0 * P + p0;
                for (int c = 0; c < 16; c++) {
                    _mm512_mask_storeu_ps(base + c * P, mask, lo[c]);
                    _mm512_mask_storeu_ps(base + (16 + c) * P, mask, hi[c]);
                }
            } else {
                float t[8][32];
                for (int r = 0; r < 8; r++) {
                    _mm512_storeu_ps(t[r], lo[r]);
                    _mm512_storeu_ps(t[r] + 16, hi[r]);
                }
                for (long c = 0; c < 32; c++) {
                    float *row = y + (o0 + c) * P;
                    for (long r = 0; r < rows; r++) row[out[r]] = t[r][c];
                }
            }
        }
    }
}

/// The output gradient of a block of images, `dy` as [images, O, P], packed for the implicit
/// weight-gradient kernels as [O / width][images·P][width] (width 16 or 32, O a multiple of it);
/// with `biasGradient`, also adds Σ over the block's pixels of dy for each output channel to it.
static inline void cortex_conv_pack_output_gradient(const float *dy, long images, long O, long P, long width,
                                                    float *packed, float *biasGradient) {
    const long pixels = images * P;
    for (long n = 0; n < images; n++) {
        for (long o = 0; o < O; o++) {
            const float *from = dy + (n * O + o) * P;
            float *to = packed + (o / width) * pixels * width + n * P * width + o % width;
            float sum = 0;
            for (long p = 0; p < P; p++) {
                to[p * width] = from[p];
                sum += from[p];
            }
            if (biasGradient) biasGradient[o] += sum;
        }
    }
}

/// Convolution weight gradient without a column matrix: for the output pixels `j = n·P + p` in
/// `[first, last)` (the same indexing as `cortex_conv_implicit_forward_avx2`),
///   gradWT[k·O + o] += Σ_j x[n·imageStride + (p / oW)·sH·W + (p % oW)·sW + tap[k]] · dy(j, o),
/// with dy packed by `cortex_conv_pack_output_gradient` (width 16; packed pixel 0 is pixel
/// `first`). Six taps × sixteen output channels stay in twelve registers; each pixel loads its
/// sixteen gradients and broadcasts six input values straight from the image. Pixels are taken
/// in chunks whose gradients stay in L1 while every tap reads them.
__attribute__((target("avx2,fma")))
static inline void cortex_conv_implicit_weight_grad_avx2(const float *x, long imageStride, long W, long oW, long P,
                                                         long sH, long sW, const int *tap, long K, const float *dyp,
                                                         long O, float *gradWT, long first, long last) {
    const long pixels = last - first, oH = P / oW, chunk = 256;
    for (long c0 = 0; c0 < pixels; c0 += chunk) {
        const long count = pixels - c0 < chunk ? pixels - c0 : chunk;
        const long q = first + c0, n0 = q / P, p0 = q % P, y0 = p0 / oW, x0 = p0 % oW;
        for (long o0 = 0; o0 < O; o0 += 16) {
            const float *d0 = dyp + o0 * pixels + c0 * 16;
            for (long k0 = 0; k0 < K; k0 += 6) {
                const long taps = K - k0 < 6 ? K - k0 : 6;
                const long t0 = tap[k0], t1 = tap[k0 + (taps > 1 ? 1 : 0)], t2 = tap[k0 + (taps > 2 ? 2 : 0)];
                const long t3 = tap[k0 + (taps > 3 ? 3 : 0)], t4 = tap[k0 + (taps > 4 ? 4 : 0)];
                const long t5 = tap[k0 + (taps > 5 ? 5 : 0)];
                __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
                __m256 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
                const float *d = d0;
                long n = n0, y = y0, xx = x0, left = count;
                while (left > 0) {
                    const long run = oW - xx < left ? oW - xx : left;
                    const float *s = x + n * imageStride + y * sH * W + xx * sW;
                    for (long r = 0; r < run; r++, s += sW, d += 16) {
                        const __m256 g0 = _mm256_loadu_ps(d), g1 = _mm256_loadu_ps(d + 8);
                        __m256 v = _mm256_broadcast_ss(s + t0);
                        a00 = _mm256_fmadd_ps(v, g0, a00); a01 = _mm256_fmadd_ps(v, g1, a01);
                        v = _mm256_broadcast_ss(s + t1);
                        a10 = _mm256_fmadd_ps(v, g0, a10); a11 = _mm256_fmadd_ps(v, g1, a11);
                        v = _mm256_broadcast_ss(s + t2);
                        a20 = _mm256_fmadd_ps(v, g0, a20); a21 = _mm256_fmadd_ps(v, g1, a21);
                        v = _mm256_broadcast_ss(s + t3);
                        a30 = _mm256_fmadd_ps(v, g0, a30); a31 = _mm256_fmadd_ps(v, g1, a31);
                        v = _mm256_broadcast_ss(s + t4);
                        a40 = _mm256_fmadd_ps(v, g0, a40); a41 = _mm256_fmadd_ps(v, g1, a41);
                        v = _mm256_broadcast_ss(s + t5);
                        a50 = _mm256_fmadd_ps(v, g0, a50); a51 = _mm256_fmadd_ps(v, g1, a51);
                    }
                    left -= run;
                    xx = 0;
                    if (++y == oH) { y = 0; n++; }
                }
                const __m256 sums[6][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
                for (long t = 0; t < taps; t++) {
                    float *row = gradWT + (k0 + t) * O + o0;
                    _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), sums[t][0]));
                    _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), sums[t][1]));
                }
            }
        }
    }
}

/// `cortex_conv_implicit_weight_grad_avx2` with 512-bit vectors: eight taps × thirty-two output
/// channels in sixteen ZMM registers, dy packed with width 32 (O a multiple of 32).
__attribute__((target("avx512f")))
static inline void cortex_conv_implicit_weight_grad_avx512(const float *x, long imageStride, long W, long oW,
                                                           long P, long sH, long sW, const int *tap, long K,
                                                           const float *dyp, long O, float *gradWT, long first,
                                                           long last) {
    const long pixels = last - first, oH = P / oW, chunk = 128;
    for (long c0 = 0; c0 < pixels; c0 += chunk) {
        const long count = pixels - c0 < chunk ? pixels - c0 : chunk;
        const long q = first + c0, n0 = q / P, p0 = q % P, y0 = p0 / oW, x0 = p0 % oW;
        for (long o0 = 0; o0 < O; o0 += 32) {
            const float *d0 = dyp + o0 * pixels + c0 * 32;
            for (long k0 = 0; k0 < K; k0 += 8) {
                const long taps = K - k0 < 8 ? K - k0 : 8;
                const long t0 = tap[k0], t1 = tap[k0 + (taps > 1 ? 1 : 0)], t2 = tap[k0 + (taps > 2 ? 2 : 0)];
                const long t3 = tap[k0 + (taps > 3 ? 3 : 0)], t4 = tap[k0 + (taps > 4 ? 4 : 0)];
                const long t5 = tap[k0 + (taps > 5 ? 5 : 0)], t6 = tap[k0 + (taps > 6 ? 6 : 0)];
                const long t7 = tap[k0 + (taps > 7 ? 7 : 0)];
                __m512 a00 = _mm512_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
                __m512 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00;
                __m512 a70 = a00, a71 = a00;
                const float *d = d0;
                long n = n0, y = y0, xx = x0, left = count;
                while (left > 0) {
                    const long run = oW - xx < left ? oW - xx : left;
                    const float *s = x + n * imageStride + y * sH * W + xx * sW;
                    for (long r = 0; r < run; r++, s += sW, d += 32) {
                        const __m512 g0 = _mm512_loadu_ps(d), g1 = _mm512_loadu_ps(d + 16);
                        __m512 v;
#define CORTEX_WEIGHT_GRAD_TAP(T, A0, A1) \
    v = _mm512_set1_ps(s[T]);             \
    A0 = _mm512_fmadd_ps(v, g0, A0);      \
    A1 = _mm512_fmadd_ps(v, g1, A1);
                        CORTEX_WEIGHT_GRAD_TAP(t0, a00, a01) CORTEX_WEIGHT_GRAD_TAP(t1, a10, a11)
                        CORTEX_WEIGHT_GRAD_TAP(t2, a20, a21) CORTEX_WEIGHT_GRAD_TAP(t3, a30, a31)
                        CORTEX_WEIGHT_GRAD_TAP(t4, a40, a41) CORTEX_WEIGHT_GRAD_TAP(t5, a50, a51)
                        CORTEX_WEIGHT_GRAD_TAP(t6, a60, a61) CORTEX_WEIGHT_GRAD_TAP(t7, a70, a71)
#undef CORTEX_WEIGHT_GRAD_TAP
                    }
                    left -= run;
                    xx = 0;
                    if (++y == oH) { y = 0; n++; }
                }
                const __m512 sums[8][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31},
                                           {a40, a41}, {a50, a51}, {a60, a61}, {a70, a71}};
                for (long t = 0; t < taps; t++) {
                    float *row = gradWT + (k0 + t) * O + o0;
                    _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), sums[t][0]));
                    _mm512_storeu_ps(row + 16, _mm512_add_ps(_mm512_loadu_ps(row + 16), sums[t][1]));
                }
            }
        }
    }
}

/// `cortex_linear_rows_avx2` with 512-bit vectors: four rows × six outputs in 24 ZMM registers,
/// each step loading 16 floats of six weight rows and four input rows (the AVX2 kernel's four × three
/// re-read the weights from L2 twice as often).
__attribute__((target("avx512f")))
static inline void cortex_linear_rows_avx512(const float *x, long rows, long K, const float *w, float *y, long N,
                                             long first, long last, int accumulate) {
    const long tail = K % 16, body = K - tail;
    const __mmask16 mask = (__mmask16)((1u << tail) - 1);
    for (long n0 = first; n0 < last; n0 += 6) {
        const long outs = last - n0 < 6 ? last - n0 : 6;
        const float *w0 = w + n0 * K, *w1 = w + (outs > 1 ? n0 + 1 : n0) * K, *w2 = w + (outs > 2 ? n0 + 2 : n0) * K;
        const float *w3 = w + (outs > 3 ? n0 + 3 : n0) * K, *w4 = w + (outs > 4 ? n0 + 4 : n0) * K;
        const float *w5 = w + (outs > 5 ? n0 + 5 : n0) * K;
        for (long r0 = 0; r0 < rows; r0 += 4) {
            const long count = rows - r0 < 4 ? rows - r0 : 4;
            const float *x0 = x + r0 * K, *x1 = x + (r0 + (count > 1 ? 1 : 0)) * K;
            const float *x2 = x + (r0 + (count > 2 ? 2 : 0)) * K, *x3 = x + (r0 + (count > 3 ? 3 : 0)) * K;
            __m512 a[4][6];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 6; j++) a[i][j] = _mm512_setzero_ps();
#define CORTEX_LINEAR512_ROW(I, U)                                                                   \
    a[I][0] = _mm512_fmadd_ps(U, v0, a[I][0]); a[I][1] = _mm512_fmadd_ps(U, v1, a[I][1]);          \
    a[I][2] = _mm512_fmadd_ps(U, v2, a[I][2]); a[I][3] = _mm512_fmadd_ps(U, v3, a[I][3]);          \
    a[I][4] = _mm512_fmadd_ps(U, v4, a[I][4]); a[I][5] = _mm512_fmadd_ps(U, v5, a[I][5]);
#define CORTEX_LINEAR512_STEP(LOAD)                                                                  \
    {                                                                                              \
        const __m512 v0 = LOAD(w0), v1 = LOAD(w1), v2 = LOAD(w2), v3 = LOAD(w3), v4 = LOAD(w4), v5 = LOAD(w5); \
        __m512 u = LOAD(x0);                                                                       \
        CORTEX_LINEAR512_ROW(0, u)                                                                 \
        u = LOAD(x1);                                                                              \
        CORTEX_LINEAR512_ROW(1, u)                                                                 \
        u = LOAD(x2);                                                                              \
        CORTEX_LINEAR512_ROW(2, u)                                                                 \
        u = LOAD(x3);                                                                              \
        CORTEX_LINEAR512_ROW(3, u)                                                                 \
    }
#define CORTEX_LOAD_AT(p) _mm512_loadu_ps((p) + k)
#define CORTEX_LOAD_TAIL(p) _mm512_maskz_loadu_ps(mask, (p) + body)
            for (long k = 0; k < body; k += 16) CORTEX_LINEAR512_STEP(CORTEX_LOAD_AT)
            if (tail) CORTEX_LINEAR512_STEP(CORTEX_LOAD_TAIL)
#undef CORTEX_LOAD_AT
#undef CORTEX_LOAD_TAIL
#undef CORTEX_LINEAR512_STEP
#undef CORTEX_LINEAR512_ROW
            for (long r = 0; r < count; r++) {
                float *out = y + (r0 + r) * N + n0;
                for (long j = 0; j < outs; j++) {
                    const float sum = _mm512_reduce_add_ps(a[r][j]);
                    out[j] = accumulate ? out[j] + sum : sum;
                }
            }
        }
    }
}

/// `y[r·ldy + n] (+)= Σ_k x[r·ldx + k] · w[k·ldw + n]` for the columns n in `[first, last)`: a few
/// rows times a row-major matrix (an LSTM step's hidden gradient dh = dgates · W_hh, 32 rows
/// against a 1024 × 256 matrix) with nothing packed: eight rows × 32 columns in 16 ZMM registers,
/// each step loading 32 floats of one matrix row and broadcasting one value per input row; the
/// last columns (a count not a multiple of 32) through masks. OpenBLAS packs all of W on every
/// such call.
__attribute__((target("avx512f")))
static inline void cortex_rows_times_matrix_avx512(const float *x, long rows, long ldx, long K, const float *w,
                                                   long ldw, float *y, long ldy, long first, long last,
                                                   int accumulate) {
    for (long n0 = first; n0 < last; n0 += 32) {
        const long width = last - n0 < 32 ? last - n0 : 32;
        const __mmask16 m0 = (__mmask16)(width >= 16 ? 0xFFFFu : (1u << width) - 1);
        const __mmask16 m1 = (__mmask16)(width >= 32 ? 0xFFFFu : width > 16 ? (1u << (width - 16)) - 1 : 0);
        for (long r0 = 0; r0 < rows; r0 += 8) {
            const long count = rows - r0 < 8 ? rows - r0 : 8;
            const float *x0 = x + r0 * ldx, *x1 = x + (r0 + (count > 1 ? 1 : 0)) * ldx;
            const float *x2 = x + (r0 + (count > 2 ? 2 : 0)) * ldx, *x3 = x + (r0 + (count > 3 ? 3 : 0)) * ldx;
            const float *x4 = x + (r0 + (count > 4 ? 4 : 0)) * ldx, *x5 = x + (r0 + (count > 5 ? 5 : 0)) * ldx;
            const float *x6 = x + (r0 + (count > 6 ? 6 : 0)) * ldx, *x7 = x + (r0 + (count > 7 ? 7 : 0)) * ldx;
            __m512 a00 = _mm512_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00;
            __m512 a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00, a60 = a00, a61 = a00, a70 = a00, a71 = a00;
            const float *wk = w + n0;
            for (long k = 0; k < K; k++, wk += ldw) {
                const __m512 w0 = _mm512_maskz_loadu_ps(m0, wk), w1 = _mm512_maskz_loadu_ps(m1, wk + 16);
                __m512 v;
#define CORTEX_ROWS_MATRIX_ROW(X, A0, A1) \
    v = _mm512_set1_ps(X[k]);             \
    A0 = _mm512_fmadd_ps(v, w0, A0);      \
    A1 = _mm512_fmadd_ps(v, w1, A1);
                CORTEX_ROWS_MATRIX_ROW(x0, a00, a01) CORTEX_ROWS_MATRIX_ROW(x1, a10, a11)
                CORTEX_ROWS_MATRIX_ROW(x2, a20, a21) CORTEX_ROWS_MATRIX_ROW(x3, a30, a31)
                CORTEX_ROWS_MATRIX_ROW(x4, a40, a41) CORTEX_ROWS_MATRIX_ROW(x5, a50, a51)
                CORTEX_ROWS_MATRIX_ROW(x6, a60, a61) CORTEX_ROWS_MATRIX_ROW(x7, a70, a71)
#undef CORTEX_ROWS_MATRIX_ROW
            }
            const __m512 sums[8][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31},
                                       {a40, a41}, {a50, a51}, {a60, a61}, {a70, a71}};
            for (long r = 0; r < count; r++) {
                float *out = y + (r0 + r) * ldy + n0;
                __m512 s0 = sums[r][0], s1 = sums[r][1];
                if (accumulate) {
                    s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(m0, out));
                    s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps(m1, out + 16));
                }
                _mm512_mask_storeu_ps(out, m0, s0);
                _mm512_mask_storeu_ps(out + 16, m1, s1);
            }
        }
    }
}
#else
static inline int cortex_cpu_has_avx2_fma(void) { return 0; }
static inline int cortex_cpu_has_avx512f(void) { return 0; }
static inline void cortex_rows_times_matrix_avx512(const float *x, long rows, long ldx, long K, const float *w,
                                                   long ldw, float *y, long ldy, long first, long last,
                                                   int accumulate) {}
static inline void cortex_conv_implicit_forward_avx512(const float *x, long imageStride, long W, long oW, long P,
                                                       long sH, long sW, const int *tap, long K, const float *wp,
                                                       long O, const float *bias, float *y, long first,
                                                       long last) {}
static inline void cortex_linear_rows_avx512(const float *x, long rows, long K, const float *w, float *y, long N,
                                             long first, long last, int accumulate) {}
static inline void cortex_conv_pack_output_gradient(const float *dy, long images, long O, long P, long width,
                                                    float *packed, float *biasGradient) {}
static inline void cortex_conv_implicit_weight_grad_avx2(const float *x, long imageStride, long W, long oW, long P,
                                                         long sH, long sW, const int *tap, long K, const float *dyp,
                                                         long O, float *gradWT, long first, long last) {}
static inline void cortex_conv_implicit_weight_grad_avx512(const float *x, long imageStride, long W, long oW,
                                                           long P, long sH, long sW, const int *tap, long K,
                                                           const float *dyp, long O, float *gradWT, long first,
                                                           long last) {}
static inline long cortex_adam_avx2(float *p, const float *gradient, float *m, float *v, long n,
                                    float oneMinusBeta1, float beta2, float oneMinusBeta2,
                                    float inverseCorrection2, float epsilon, float stepSize, float l2) { return 0; }
static inline long cortex_gelu_avx2(const float *x, float *y, float *slope, long n) { return 0; }
static inline void cortex_gemm_small_avx2(long M, long N, long K, const float *A, long lda, int transA,
                                          const float *B, long ldb, float *C, long ldc) {}
static inline void cortex_linear_rows_avx2(const float *x, long rows, long K, const float *w, float *y, long N,
                                           long first, long last, int accumulate) {}
static inline void cortex_conv_implicit_forward_avx2(const float *x, long imageStride, long W, long oW, long P,
                                                     long sH, long sW, const int *tap, long K, const float *wt,
                                                     long O, const float *bias, float *y, long first, long last) {}
static inline long cortex_direct_padded_width(long oW, long kW) { return (oW + 15) / 16 * 16 + kW - 1; }
static inline void cortex_direct_pad_image(const float *x, long C, long H, long W, long pH, long pW,
                                           float *pad, long Hp, long Wp) {}
static inline void cortex_direct_conv_forward_avx2(const float *pad, long C, long Hp, long Wp, const float *w, long O,
                                                   long kH, long kW, const float *bias, float *y, long oH, long oW) {}
static inline void cortex_direct_conv_weight_grad_avx2(const float *pad, long C, long Hp, long Wp, const float *dyPad,
                                                       long O, long kH, long kW, long oH, long oWp,
                                                       float *gradWeightT, float *biasGradient) {}
static inline void cortex_col2im_tap_avx2(const float *col, long imageStride, long images, float *plane,
                                          long W, long oH, long oW, long sH, long sW,
                                          long rowOffset, long columnOffset, long yLo, long yHi, long xLo, long xHi) {}
static inline void cortex_max_pool_2x2_avx2(const float *x, float *y, int *arg, long planes, long H, long W,
                                            long oH, long oW) {}
static inline void cortex_im2col_tap_avx2(const float *plane, long imageStride, long images, float *out,
                                          long H, long W, long oH, long oW, long sH, long sW,
                                          long rowOffset, long columnOffset, long yLo, long yHi, long xLo, long xHi) {}
static inline long cortex_multiply_avx2(const float *a, const float *b, float *out, long n) { return 0; }
static inline void cortex_softmax_lines_avx2(const float *x, float *y, long lines, long length, int logarithm) {}
static inline void cortex_softmax_backward_lines_avx2(const float *y, const float *g, float *dx, long lines, long length) {}
static inline void cortex_softmax_prefix_avx2(float *row, long end, long length) {}
static inline void cortex_lstm_cell_forward_avx2(const float *x, const float *hp, const float *cPrev, float *act,
                                                 float *c, float *h, long H) {}
static inline void cortex_lstm_cell_backward_avx2(const float *gy, const float *dh, const float *act, const float *c,
                                                  const float *cPrev, float *dc, float *dg, long H) {}
static inline void cortex_softmax_backward_row_avx2(const float *y, float *g, long length) {}
static inline void cortex_layernorm_forward_avx2(const float *x, const float *w, const float *b, float *y,
                                                 float *mean, float *rstd, long rows, long D, float epsilon) {}
static inline void cortex_layernorm_backward_avx2(const float *x, const float *w, const float *dy, const float *mean,
                                                  const float *rstd, float *dx, float *dw, float *db, long rows, long D) {}
#endif


#endif
