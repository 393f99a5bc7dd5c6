// Branch-free exp and tanh in plain arithmetic, so loops over them vectorise (the libm calls
// they replace are scalar). Accuracy: within a few ulp of libm over the whole range (Cephes
// `expf`/`tanhf` polynomials, S. Moshier 1984–2000). The exact GELU's erf is in Ops/GELU.swift.

/// eˣ: x = k·ln2 + r with |r| ≤ ln2/2, eʳ by a degree-6 polynomial, 2ᵏ assembled in the
/// exponent field in two halves so results down to the subnormals and up to overflow are right.
@inline(__always)
func fastExp(_ x: Float) -> Float {
    // NaN goes through as 0 (and is restored at the end): converting NaN to Int32 traps.
    let clamped = x < -104 ? -104 : (x > 89 ? 89 : (x == x ? x : 0))
    // Round to nearest by adding 1.5·2²³ (SSE2 has no vector round instruction); the sum's low
    // mantissa bits then hold k itself, read below without a float-to-integer conversion (Swift's
    // checked `Int32(Float)` branches, which kept every loop calling this from vectorising).
    let shifted = clamped * 1.442695041 + 12_582_912
    let k = shifted - 12_582_912
    let r = clamped - k * 0.693359375 + k * 2.12194440e-4
    let z = r * r
    var p: Float = 1.9875691500e-4
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * z + r + 1
    let n = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    let half = n &>> 1
    let scale1 = Float(bitPattern: UInt32(bitPattern: (half &+ 127) &<< 23))
    let scale2 = Float(bitPattern: UInt32(bitPattern: (n &- half &+ 127) &<< 23))
    let result = p * scale1 * scale2
    return x != x ? x : result
}

/// tanh x: an odd polynomial for |x| < 0.625, else 1 − 2 / (e²ˣ + 1) with the sign restored.
@inline(__always)
func fastTanh(_ x: Float) -> Float {
    let a = Swift.abs(x)
    let z = x * x
    var p: Float = -5.70498872745e-3
    p = p * z + 2.06390887954e-2
    p = p * z - 5.37397155531e-2
    p = p * z + 1.33314422036e-1
    p = p * z - 3.33332819422e-1
    let small = x + x * z * p
    let large = 1 - 2 / (fastExp(2 * a) + 1)
    return a < 0.625 ? small : (x < 0 ? -large : large)
}
