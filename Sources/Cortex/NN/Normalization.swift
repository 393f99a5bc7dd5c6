import CKernels

/// Layer normalisation (Ba, Kiros & Hinton 2016) over the trailing axes given by
/// `normalizedShape`, as `torch.nn.LayerNorm`:
/// `y = (x − μ) / √(σ² + ε) · weight + bias`, with μ and the biased variance σ² taken over
/// those axes for each leading index.
///
/// Parameters: `weight` (ones) and `bias` (zeros) of shape `normalizedShape` (omitted with
/// `elementwiseAffine: false`). A fused kernel with its own backward (one pass for the
/// statistics, one for the output), checked against finite differences in the tests:
/// `dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂))` with `ĝ = dy · weight`.
public final class LayerNorm: UnaryLayer {
    public let normalizedShape: [Int]
    public var epsilon: Float
    public let weight: Tensor?
    public let bias: Tensor?
    public var isTraining = true

    public init(_ normalizedShape: [Int], epsilon: Float = 1e-5, elementwiseAffine: Bool = true) {
        precondition(
            !normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
            "LayerNorm: bad normalizedShape \(normalizedShape)")
        self.normalizedShape = normalizedShape
        self.epsilon = epsilon
        weight = elementwiseAffine ? Tensor.ones(normalizedShape, requiresGrad: true) : nil
        bias = elementwiseAffine ? Tensor.zeros(normalizedShape, requiresGrad: true) : nil
    }

    public convenience init(_ features: Int, epsilon: Float = 1e-5, elementwiseAffine: Bool = true) {
        self.init([features], epsilon: epsilon, elementwiseAffine: elementwiseAffine)
    }

    public var localParameters: [NamedTensor] {
        guard let weight, let bias else { return [] }
        return [("weight", weight), ("bias", bias)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            x.rank >= normalizedShape.count && Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
            "LayerNorm: input shape \(x.shape) does not end with \(normalizedShape)")
        let D = normalizedShape.reduce(1, *)
        let rows = x.count / D
        let stats = TensorStorage(uninitializedCount: 2 * rows)  // mean, rstd per row
        let out = TensorStorage(uninitializedCount: x.count)
        let xp = x.storage.pointer, yp = out.pointer, mean = stats.pointer, rstd = stats.pointer + rows
        let wp = weight?.storage.pointer, bp = bias?.storage.pointer
        // AVX2/FMA rows in CKernels when the row is whole vectors (128 in the GPT, 64 in the ViT).
        let wide = Runtime.hasAVX2 && D % 8 == 0
        if wide {
            cortex_layernorm_forward_avx2(xp, wp, bp, yp, mean, rstd, rows, D, epsilon)
        } else {
            layerNormRows(xp, yp, mean: mean, rstd: rstd, weight: wp, bias: bp, rows: rows, D: D, epsilon: epsilon)
        }
        let inputs = [x] + (weight.map { [$0, bias!] } ?? [])
        return Tensor.record("layerNorm", shape: x.shape, storage: out, inputs: inputs) { g in
            // Pointers from the captured owners: the closure must keep `stats` alive.
            let dy = g.storage.pointer, xp = x.storage.pointer, mean = stats.pointer, rstd = stats.pointer + rows
            let dx = x.requiresGrad ? TensorStorage(uninitializedCount: x.count) : nil  // every element written
            let affineGrads = wp != nil && (inputs[1].requiresGrad || inputs[2].requiresGrad)
            let dw = affineGrads ? TensorStorage(count: D) : nil, db = affineGrads ? TensorStorage(count: D) : nil
            if wide {
                cortex_layernorm_backward_avx2(xp, wp, dy, mean, rstd, dx?.pointer, dw?.pointer, db?.pointer, rows, D)
            } else {
                layerNormBackwardRows(
                    xp, dy, mean: mean, rstd: rstd, weight: wp, dx: dx?.pointer, dw: dw?.pointer, db: db?.pointer,
                    rows: rows, D: D)
            }
            var grads: [Tensor?] = [dx.map { Tensor(shape: x.shape, storage: $0) }]
            if wp != nil {
                grads.append(dw.map { Tensor(shape: self.normalizedShape, storage: $0) })
                grads.append(db.map { Tensor(shape: self.normalizedShape, storage: $0) })
            }
            return grads
        }
    }
}

/// LayerNorm's scalar forward (rows whose length is not whole AVX2 vectors, or CPUs without AVX2).
private func layerNormRows(
    _ xp: UnsafeMutablePointer<Float>, _ yp: UnsafeMutablePointer<Float>,
    mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    weight wp: UnsafeMutablePointer<Float>?, bias bp: UnsafeMutablePointer<Float>?, rows: Int, D: Int, epsilon: Float
) {
    for r in 0..<rows {
        let row = xp + r * D, y = yp + r * D
        var sum: Float = 0
        for j in 0..<D { sum += row[j] }
        let m = sum / Float(D)
        var squares: Float = 0
        for j in 0..<D {
            let d = row[j] - m
            squares += d * d
        }
        let rs = 1 / (squares / Float(D) + epsilon).squareRoot()
        mean[r] = m
        rstd[r] = rs
        if let wp, let bp {
            for j in 0..<D { y[j] = (row[j] - m) * rs * wp[j] + bp[j] }
        } else {
            for j in 0..<D { y[j] = (row[j] - m) * rs }
        }
    }
}

/// LayerNorm's scalar backward: dx (when asked), and dw, db accumulated (when asked).
private func layerNormBackwardRows(
    _ xp: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
    mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, weight wp: UnsafeMutablePointer<Float>?,
    dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?, rows: Int, D: Int
) {
    for r in 0..<rows {
        let row = xp + r * D, gy = dy + r * D, m = mean[r], rs = rstd[r]
        var sumG: Float = 0, sumGX: Float = 0
        for j in 0..<D {
            let xhat = (row[j] - m) * rs
            let ghat = gy[j] * (wp?[j] ?? 1)
            sumG += ghat
            sumGX += ghat * xhat
            if let dw, let db {
                dw[j] += gy[j] * xhat
                db[j] += gy[j]
            }
        }
        if let dx {
            let out = dx + r * D
            let meanG = sumG / Float(D), meanGX = sumGX / Float(D)
            for j in 0..<D {
                let xhat = (row[j] - m) * rs
                out[j] = rs * (gy[j] * (wp?[j] ?? 1) - meanG - xhat * meanGX)
            }
        }
    }
}

/// Batch normalisation (Ioffe & Szegedy 2015) over the channel axis 1, as
/// `torch.nn.BatchNorm1d/2d`: in training, each channel is normalised by the mean and biased
/// variance over the batch (and spatial) positions, `y = (x − μ_B) / √(σ²_B + ε) · weight + bias`,
/// and the running statistics move towards them:
/// `running_mean ← (1 − m)·running_mean + m·μ_B`,
/// `running_var ← (1 − m)·running_var + m·σ²_B · n/(n − 1)` (unbiased), with momentum m = 0.1
/// (`momentum: nil` gives the cumulative average, m = 1/num_batches_tracked).
/// In evaluation mode the running statistics are used instead and nothing is updated.
///
/// Parameters `weight` (ones), `bias` (zeros); buffers `running_mean` (zeros), `running_var`
/// (ones) and `num_batches_tracked` (a Float32 scalar here; int64 in PyTorch, and
/// `load_state_dict` converts it). Layout (N, C) or (N, C, L) for 1-D, (N, C, H, W) for 2-D.
/// Fused kernel with its own backward (checked against finite differences):
/// `dx = weight · rstd / n · (n·dy − Σdy − x̂·Σ(dy·x̂))` per channel.
public class BatchNorm: UnaryLayer {
    public let featureCount: Int
    public var epsilon: Float
    public var momentum: Float?
    public let weight: Tensor?
    public let bias: Tensor?
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let batchesTracked: Tensor
    public var isTraining = true
    let allowedRanks: Set<Int>
    let kind: String

    init(kind: String, allowedRanks: Set<Int>, featureCount: Int, epsilon: Float, momentum: Float?, affine: Bool) {
        precondition(featureCount > 0, "\(kind): featureCount must be positive")
        self.kind = kind
        self.allowedRanks = allowedRanks
        self.featureCount = featureCount
        self.epsilon = epsilon
        self.momentum = momentum
        weight = affine ? Tensor.ones([featureCount], requiresGrad: true) : nil
        bias = affine ? Tensor.zeros([featureCount], requiresGrad: true) : nil
        runningMean = Tensor.zeros([featureCount])
        runningVar = Tensor.ones([featureCount])
        batchesTracked = Tensor(scalar: 0)
    }

    public var localParameters: [NamedTensor] {
        guard let weight, let bias else { return [] }
        return [("weight", weight), ("bias", bias)]
    }

    public var localBuffers: [NamedTensor] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", batchesTracked)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            allowedRanks.contains(x.rank) && x.shape[1] == featureCount,
            "\(kind)(\(featureCount)): bad input shape \(x.shape)")
        let N = x.shape[0], C = featureCount, S = x.shape.dropFirst(2).reduce(1, *)
        let n = N * S
        let training = isTraining
        precondition(
            !training || n > 1, "\(kind): training needs more than one value per channel, got input \(x.shape)")
        let stats = TensorStorage(uninitializedCount: 2 * C)  // mean, rstd per channel
        let mean = stats.pointer, rstd = stats.pointer + C
        let xp = x.storage.pointer
        let out = TensorStorage(uninitializedCount: x.count)
        let yp = out.pointer
        let wp = weight?.storage.pointer, bp = bias?.storage.pointer
        let rm = runningMean.storage.pointer, rv = runningVar.storage.pointer
        if training {
            batchesTracked.storage.pointer[0] += 1
        }
        let factor = momentum ?? 1 / batchesTracked.storage.pointer[0]
        // Passes run in memory order (batch, channel, position) with per-channel accumulators,
        // so (N, C) inputs are read row by row rather than down columns.
        let scratch = TensorStorage(count: 2 * C)
        let first = scratch.pointer, second = scratch.pointer + C
        if training {
            for b in 0..<N {
                for c in 0..<C {
                    let p = xp + (b * C + c) * S
                    var sum: Float = 0
                    for s in 0..<S { sum += p[s] }
                    first[c] += sum
                }
            }
            for c in 0..<C { mean[c] = first[c] / Float(n) }
            for b in 0..<N {
                for c in 0..<C {
                    let p = xp + (b * C + c) * S, m = mean[c]
                    var squares: Float = 0
                    for s in 0..<S {
                        let d = p[s] - m
                        squares += d * d
                    }
                    second[c] += squares
                }
            }
            for c in 0..<C {
                let variance = second[c] / Float(n)
                rstd[c] = 1 / (variance + epsilon).squareRoot()
                rm[c] = (1 - factor) * rm[c] + factor * mean[c]
                rv[c] = (1 - factor) * rv[c] + factor * variance * Float(n) / Float(n - 1)
            }
        } else {
            for c in 0..<C {
                mean[c] = rm[c]
                rstd[c] = 1 / (rv[c] + epsilon).squareRoot()
            }
        }
        // y = x·scale + shift with scale = rstd·weight, shift = bias − mean·scale.
        for c in 0..<C {
            first[c] = rstd[c] * (wp?[c] ?? 1)
            second[c] = (bp?[c] ?? 0) - mean[c] * first[c]
        }
        for b in 0..<N {
            for c in 0..<C {
                let p = xp + (b * C + c) * S, y = yp + (b * C + c) * S, scale = first[c], shift = second[c]
                for s in 0..<S { y[s] = p[s] * scale + shift }
            }
        }
        let inputs = [x] + (weight.map { [$0, bias!] } ?? [])
        return Tensor.record(kind, shape: x.shape, storage: out, inputs: inputs) { g in
            // Pointers from the captured owners: the closure must keep `stats` alive.
            let dy = g.storage.pointer, xp = x.storage.pointer, mean = stats.pointer, rstd = stats.pointer + C
            let dx = x.requiresGrad ? TensorStorage(uninitializedCount: x.count) : nil
            let dw = TensorStorage(count: C), db = TensorStorage(count: C)
            let sumGX = dw.pointer, sumG = db.pointer
            for b in 0..<N {
                for c in 0..<C {
                    let p = xp + (b * C + c) * S, gy = dy + (b * C + c) * S, m = mean[c]
                    var g: Float = 0, gx: Float = 0
                    for s in 0..<S {
                        g += gy[s]
                        gx += gy[s] * (p[s] - m)
                    }
                    sumG[c] += g
                    sumGX[c] += gx
                }
            }
            for c in 0..<C { sumGX[c] *= rstd[c] }
            if let dx {
                // dx = scale·(dy − meanG − x̂·meanGX), meanG and meanGX zero in evaluation mode.
                let coefficients = TensorStorage(uninitializedCount: 3 * C)
                let scale = coefficients.pointer, meanG = scale + C, meanGX = scale + 2 * C
                for c in 0..<C {
                    scale[c] = rstd[c] * (wp?[c] ?? 1)
                    meanG[c] = training ? sumG[c] / Float(n) : 0
                    meanGX[c] = training ? sumGX[c] / Float(n) * rstd[c] : 0
                }
                for b in 0..<N {
                    for c in 0..<C {
                        let p = xp + (b * C + c) * S, gy = dy + (b * C + c) * S, out = dx.pointer + (b * C + c) * S
                        let k = scale[c], g0 = meanG[c], gx = meanGX[c], m = mean[c]
                        for s in 0..<S { out[s] = k * (gy[s] - g0 - (p[s] - m) * gx) }
                    }
                }
            }
            var grads: [Tensor?] = [dx.map { Tensor(shape: x.shape, storage: $0) }]
            if wp != nil {
                grads.append(Tensor(shape: [C], storage: dw))
                grads.append(Tensor(shape: [C], storage: db))
            }
            return grads
        }
    }
}

/// Batch normalisation of (N, C) or (N, C, L) inputs; see `BatchNorm`.
public final class BatchNorm1d: BatchNorm {
    public init(_ featureCount: Int, epsilon: Float = 1e-5, momentum: Float? = 0.1, affine: Bool = true) {
        super.init(
            kind: "BatchNorm1d", allowedRanks: [2, 3], featureCount: featureCount, epsilon: epsilon,
            momentum: momentum, affine: affine)
    }
}

/// Batch normalisation of (N, C, H, W) inputs; see `BatchNorm`.
public final class BatchNorm2d: BatchNorm {
    public init(_ featureCount: Int, epsilon: Float = 1e-5, momentum: Float? = 0.1, affine: Bool = true) {
        super.init(
            kind: "BatchNorm2d", allowedRanks: [4], featureCount: featureCount, epsilon: epsilon,
            momentum: momentum, affine: affine)
    }
}
