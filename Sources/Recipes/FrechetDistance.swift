import Cortex
import Models

/// Mean and covariance of a set of feature vectors, in Double.
public struct FeatureStatistics: Sendable {
    public let mean: [Double]
    /// Row-major `[D, D]`, the unbiased (n − 1) covariance as `numpy.cov`.
    public let covariance: [Double]
    public var dimension: Int { mean.count }

    /// Statistics of the rows of `features` `[N, D]` (N ≥ 2).
    public init(features: Tensor) {
        precondition(features.rank == 2 && features.shape[0] >= 2, "FeatureStatistics: need [N ≥ 2, D], got \(features.shape)")
        let (N, D) = (features.shape[0], features.shape[1])
        let x = features.storage.pointer
        var mean = [Double](repeating: 0, count: D)
        for n in 0..<N { for d in 0..<D { mean[d] += Double(x[n * D + d]) } }
        for d in 0..<D { mean[d] /= Double(N) }
        var covariance = [Double](repeating: 0, count: D * D)
        var centred = [Double](repeating: 0, count: D)
        for n in 0..<N {
            for d in 0..<D { centred[d] = Double(x[n * D + d]) - mean[d] }
            for i in 0..<D {
                let ci = centred[i]
                for j in i..<D { covariance[i * D + j] += ci * centred[j] }
            }
        }
        for i in 0..<D {
            for j in i..<D {
                covariance[i * D + j] /= Double(N - 1)
                covariance[j * D + i] = covariance[i * D + j]
            }
        }
        self.mean = mean
        self.covariance = covariance
    }
}

/// The Fréchet distance between two Gaussians fitted to feature sets (Dowson & Landau 1982;
/// as FID, Heusel et al. 2017, but in whatever feature space the caller chose):
/// `‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2·(Σ₁Σ₂)^½)`, with `Tr (Σ₁Σ₂)^½ = Σ √λᵢ` over the eigenvalues of
/// the symmetric `Σ₁^½ Σ₂ Σ₁^½` (cyclic Jacobi eigendecompositions, in Double).
public func frechetDistance(_ a: FeatureStatistics, _ b: FeatureStatistics) -> Double {
    precondition(a.dimension == b.dimension, "frechetDistance: dimensions \(a.dimension) and \(b.dimension)")
    let D = a.dimension
    var meanTerm = 0.0
    for d in 0..<D { meanTerm += (a.mean[d] - b.mean[d]) * (a.mean[d] - b.mean[d]) }
    var traces = 0.0
    for d in 0..<D { traces += a.covariance[d * D + d] + b.covariance[d * D + d] }
    // Σ₁^½ = V·diag(√λ)·Vᵀ
    let (values, vectors) = symmetricEigen(a.covariance, D)
    var root = [Double](repeating: 0, count: D * D)
    for i in 0..<D {
        for j in 0..<D {
            var sum = 0.0
            for k in 0..<D { sum += vectors[i * D + k] * max(values[k], 0).squareRoot() * vectors[j * D + k] }
            root[i * D + j] = sum
        }
    }
    let product = multiply(multiply(root, b.covariance, D), root, D)
    let cross = symmetricEigen(product, D).values.reduce(0) { $0 + max($1, 0).squareRoot() }
    return meanTerm + traces - 2 * cross
}

/// Row-major `[D, D]` product.
func multiply(_ x: [Double], _ y: [Double], _ D: Int) -> [Double] {
    var out = [Double](repeating: 0, count: D * D)
    for i in 0..<D {
        for k in 0..<D {
            let xik = x[i * D + k]
            for j in 0..<D { out[i * D + j] += xik * y[k * D + j] }
        }
    }
    return out
}

/// Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric `[D, D]` matrix by cyclic
/// Jacobi rotations (Golub & Van Loan §8.5), until the off-diagonal mass is below 1e-22 of the total.
func symmetricEigen(_ matrix: [Double], _ D: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: D * D)
    for i in 0..<D { v[i * D + i] = 1 }
    let total = a.reduce(0) { $0 + $1 * $1 }
    for _ in 0..<100 {
        var off = 0.0
        for i in 0..<D { for j in 0..<D where i != j { off += a[i * D + j] * a[i * D + j] } }
        if off <= 1e-22 * max(total, 1e-300) { break }
        for p in 0..<D {
            for q in (p + 1)..<D where a[p * D + q] != 0 {
                let theta = (a[q * D + q] - a[p * D + p]) / (2 * a[p * D + q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<D {
                    let akp = a[k * D + p], akq = a[k * D + q]
                    a[k * D + p] = c * akp - s * akq
                    a[k * D + q] = s * akp + c * akq
                }
                for k in 0..<D {
                    let apk = a[p * D + k], aqk = a[q * D + k]
                    a[p * D + k] = c * apk - s * aqk
                    a[q * D + k] = s * apk + c * aqk
                }
                for k in 0..<D {
                    let vkp = v[k * D + p], vkq = v[k * D + q]
                    v[k * D + p] = c * vkp - s * vkq
                    v[k * D + q] = s * vkp + c * vkq
                }
            }
        }
    }
    return ((0..<D).map { a[$0 * D + $0] }, v)
}

/// ResNet features (the pooled activations before the head, `[N, w_last]`) of images already
/// normalised for the classifier, in evaluation mode and chunks of 500.
public func resnetFeatures(_ classifier: ImageClassifier, images: Tensor) -> Tensor {
    guard let resnet = classifier.network as? ResNet else {
        preconditionFailure("resnetFeatures: the classifier is a \(classifier.kind.rawValue), not a ResNet")
    }
    resnet.eval()
    return withNoGrad {
        var parts: [Tensor] = []
        for start in stride(from: 0, to: images.shape[0], by: 500) {
            parts.append(resnet.features(images.slice(axis: 0, start: start, end: min(images.shape[0], start + 500))))
        }
        return Tensor.concat(parts, axis: 0)
    }
}
