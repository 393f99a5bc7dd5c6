import Cortex
import CortexTestSupport
import XCTest

/// The fused attention kernels against a composition of primitive ops (matmul, add, softmax),
/// finite differences, and the masks' meaning.
final class AttentionTests: XCTestCase {
    private var generator = RandomGenerator(seed: 11)

    private func randn(_ shape: [Int], grad: Bool = true) -> Tensor {
        Tensor.randn(shape, using: &generator, requiresGrad: grad)
    }

    /// softmax(q·kᵀ/√D + M)·v from primitive ops; M is −1e9 where hidden (causal aligned to the
    /// end of the keys, padding per batch entry). Rows with every key hidden are not used here.
    private func reference(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool, padding: [Bool]?) -> Tensor {
        let (B, Tq, Tk, D) = (q.shape[0], q.shape[2], k.shape[2], q.shape[3])
        var mask = [Float](repeating: 0, count: B * Tq * Tk)
        for b in 0..<B {
            for i in 0..<Tq {
                for j in 0..<Tk where (causal && j > i + Tk - Tq) || (padding?[b * Tk + j] ?? false) {
                    mask[(b * Tq + i) * Tk + j] = -1e9
                }
            }
        }
        let scores =
            matmul(q, k, transposeB: true) * (1 / Float(D).squareRoot())
            + Tensor(shape: [B, 1, Tq, Tk], data: mask)
        return matmul(scores.softmax(axis: -1), v)
    }

    func testFusedAttentionMatchesComposedOpsWithMasks() {
        checkFusedAttention(
            queries: 4, keys: 5, padding: [false, false, false, true, true, false, true, false, false, false])
        // Rows longer than a vector and not a multiple of 8 (the softmax kernels' masked tails),
        // causal rows of every visible length 9…21.
        checkFusedAttention(queries: 13, keys: 21, padding: (0..<42).map { $0 % 5 == 2 })
    }

    private func checkFusedAttention(queries Tq: Int, keys Tk: Int, padding: [Bool]) {
        let (B, H, D, Dv) = (2, 3, 4, 3)
        let q = randn([B, H, Tq, D]), k = randn([B, H, Tk, D]), v = randn([B, H, Tk, Dv])
        for (causal, mask) in [(false, nil), (true, nil), (false, padding), (true, padding)] as [(Bool, [Bool]?)] {
            let fused = scaledDotProductAttention(query: q, key: k, value: v, causal: causal, keyPaddingMask: mask)
            let projection = randn(fused.shape, grad: false)
            (fused * projection).sum().backward()
            let fusedGrads = [q, k, v].map { $0.grad!.scalars }
            [q, k, v].forEach { $0.zeroGrad() }
            let composed = reference(q, k, v, causal: causal, padding: mask)
            (composed * projection).sum().backward()
            assertClose(
                fused.scalars, composed.scalars, accuracy: 1e-5,
                "values \(Tq)×\(Tk) causal \(causal) padding \(mask != nil)")
            for (index, tensor) in [q, k, v].enumerated() {
                assertClose(
                    fusedGrads[index], tensor.grad!.scalars, accuracy: 1e-4,
                    "gradient \(index) \(Tq)×\(Tk) causal \(causal) padding \(mask != nil)")
                tensor.zeroGrad()
            }
        }
    }

    func testAttentionGradientChecksWithMasks() {
        let q = randn([2, 2, 3, 4]), k = randn([2, 2, 4, 4]), v = randn([2, 2, 4, 2])
        let padding = [false, true, false, false, false, false, true, false]
        checkGradients([q, k, v]) {
            scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true, keyPaddingMask: padding)
        }
        checkGradients([q, k, v]) { scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        let qkv = randn([2, 5, 12])
        checkGradients([qkv]) { multiHeadSelfAttention(qkv: $0[0], heads: 2, causal: true) }
        let qkv3 = randn([2, 5, 18])
        checkGradients([qkv3]) {
            multiHeadSelfAttention(
                qkv: $0[0], heads: 3,
                keyPaddingMask: [
                    false, false, true, false, true,
                    false, false, false, false, true
                ])
        }
    }

    func testPackedSelfAttentionEqualsPerHeadAttention() {
        // The strided [B, T, 3C] path against the [B, H, T, D] path on the same numbers.
        let (B, T, H, D) = (2, 4, 2, 3)
        let C = H * D
        let qkv = randn([B, T, 3 * C], grad: false)
        func heads(_ part: Int) -> Tensor {
            qkv.slice(axis: 2, start: part * C, end: (part + 1) * C).reshaped([B, T, H, D]).permuted([0, 2, 1, 3])
        }
        let expected = scaledDotProductAttention(query: heads(0), key: heads(1), value: heads(2), causal: true)
            .permuted([0, 2, 1, 3]).reshaped([B, T, C])
        assertClose(multiHeadSelfAttention(qkv: qkv, heads: H, causal: true).scalars, expected.scalars, accuracy: 1e-6)
    }

    func testFullyMaskedQueryGivesZeros() {
        let q = randn([1, 1, 2, 2]), k = randn([1, 1, 2, 2]), v = randn([1, 1, 2, 2])
        let out = scaledDotProductAttention(query: q, key: k, value: v, keyPaddingMask: [true, true])
        XCTAssertEqual(out.scalars, [0, 0, 0, 0])
        out.sum().backward()
        XCTAssertEqual(q.grad!.scalars, [0, 0, 0, 0])
    }

    func testCausalMaskHidesTheFuture() {
        let block = TransformerBlock(embedDimension: 8, heads: 2, causal: true, generator: &generator)
        let x = randn([1, 6, 8], grad: false)
        let before = block(x).scalars
        // Change position 4 (and 5): outputs at positions 0…3 must not move at all.
        for i in 32..<48 { x.storage.pointer[i] += 1 }
        let after = block(x).scalars
        XCTAssertEqual(Array(before[..<32]), Array(after[..<32]))
        XCTAssertNotEqual(Array(before[32..<40]), Array(after[32..<40]))
    }

    func testMultiHeadAttentionAndBlockGradients() {
        let attention = MultiHeadSelfAttention(embedDimension: 6, heads: 2, generator: &generator)
        let x = randn([2, 3, 6])
        checkGradients([x] + attention.parameters()) { attention($0[0], causal: true) }
        let block = TransformerBlock(embedDimension: 8, heads: 2, causal: true, generator: &generator)
        XCTAssertEqual(
            block.stateDict().map(\.name),
            [
                "norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
                "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"
            ])
        XCTAssertEqual(block.mlp.fc1.weight.shape, [32, 8])
        let y = randn([2, 4, 8])
        checkGradients([y] + block.parameters()) { block($0[0]) }
        let padded = TransformerBlock(embedDimension: 8, heads: 4, generator: &generator)
        checkGradients([y] + padded.parameters()) {
            padded($0[0], keyPaddingMask: [false, false, false, true, false, true, false, false])
        }
    }

    func testMLPsFusedGELUMatchesTheCoreOp() {
        let mlp = TransformerMLP(features: 4, hiddenFeatures: 16, generator: &generator)
        let x = Tensor(shape: [2, 3, 4], data: (0..<24).map { Float($0 - 12) * 0.4 }, requiresGrad: true)
        let fused = mlp(x)
        (fused * fused).sum().backward()
        let fusedGrad = x.grad!.scalars
        x.zeroGrad()
        let composed = mlp.fc2(mlp.fc1(x).gelu())
        (composed * composed).sum().backward()
        assertClose(fused.scalars, composed.scalars, accuracy: 1e-5)
        assertClose(fusedGrad, x.grad!.scalars, accuracy: 1e-4)
        checkGradients([x] + mlp.parameters()) { mlp($0[0]) }
    }

    func testKeyValueCacheMatchesFullRecomputation() {
        let block = TransformerBlock(embedDimension: 8, heads: 2, causal: true, generator: &generator)
        block.eval()
        let x = randn([1, 7, 8], grad: false)
        let full = block(x).scalars
        let cache = block.makeCache(capacity: 8)
        // A prefix of three positions at once, then one at a time.
        var pieces = block(x.slice(axis: 1, start: 0, end: 3), cache: cache).scalars
        for t in 3..<7 { pieces += block(x.slice(axis: 1, start: t, end: t + 1), cache: cache).scalars }
        XCTAssertEqual(cache.count, 7)
        assertClose(pieces, full, accuracy: 1e-5)
    }
}
