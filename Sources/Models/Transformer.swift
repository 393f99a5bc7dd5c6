import Cortex
import Foundation

/// Multi-head scaled dot-product self-attention (Vaswani et al. 2017, "Attention Is All You Need"),
/// without a mask (every token sees every token, as in a ViT encoder).
///
/// `qkv = x·W_qkvᵀ + b` split into q, k, v of H heads of width d = D / H;
/// `A = softmax(q·kᵀ / √d)` per head; `y = concat_h(A·v)·W_projᵀ + b_proj`.
/// Layout: x `[B, T, D]` → y `[B, T, D]`; `qkv.weight [3D, D]` (rows: q, then k, then v, each
/// head's d rows consecutive, as timm and nanoGPT), `proj.weight [D, D]`.
public final class MultiHeadAttention: UnaryLayer {
    public let qkv: Linear
    public let proj: Linear
    public let heads: Int
    public let outputDropout: Dropout
    public var isTraining = true
    /// When set, each call keeps its attention weights `[B, H, T, T]` in `lastAttention`
    /// (for attention rollout pictures).
    public var recordsAttention = false
    public var lastAttention: Tensor?

    public init(dimension: Int, heads: Int, dropout: Float = 0, generator: inout RandomGenerator) {
        precondition(dimension % heads == 0, "MultiHeadAttention: \(heads) heads do not divide dimension \(dimension)")
        self.heads = heads
        qkv = Linear(inputFeatures: dimension, outputFeatures: 3 * dimension, generator: &generator)
        proj = Linear(inputFeatures: dimension, outputFeatures: dimension, generator: &generator)
        outputDropout = Dropout(probability: dropout, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [("qkv", qkv), ("proj", proj), ("proj_drop", outputDropout)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3, "MultiHeadAttention: input must be [B, T, D], got \(x.shape)")
        let (B, T, D) = (x.shape[0], x.shape[1], x.shape[2])
        let d = D / heads
        let qkv = self.qkv(x).reshaped([B, T, 3, heads, d]).permuted([2, 0, 3, 1, 4])   // (3, B, H, T, d)
        let parts = qkv.split(sizes: [1, 1, 1], axis: 0).map { $0.reshaped([B, heads, T, d]) }
        let q = parts[0] * (1 / Float(d).squareRoot()), k = parts[1], v = parts[2]
        let attention = matmul(q, k, transposeB: true).softmax(axis: -1)                   // (B, H, T, T)
        if recordsAttention { lastAttention = attention.detached() }
        let y = matmul(attention, v).permuted([0, 2, 1, 3]).reshaped([B, T, D])           // (B, T, D)
        return outputDropout(proj(y))
    }
}

/// The two-layer perceptron of a Transformer block: `fc2(dropout(GELU(fc1(x))))`, then dropout.
/// Keys `fc1.weight [hidden, D]`, `fc2.weight [D, hidden]` and biases (timm's names).
public final class TransformerMLP: UnaryLayer {
    public let fc1: Linear
    public let fc2: Linear
    public let dropout: Dropout
    public var isTraining = true

    public init(dimension: Int, hidden: Int, dropout: Float = 0, generator: inout RandomGenerator) {
        fc1 = Linear(inputFeatures: dimension, outputFeatures: hidden, generator: &generator)
        fc2 = Linear(inputFeatures: hidden, outputFeatures: dimension, generator: &generator)
        self.dropout = Dropout(probability: dropout, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] { [("fc1", fc1), ("fc2", fc2), ("drop", dropout)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(fc2(dropout(fc1(x).gelu()))) }
}

/// A pre-LN Transformer encoder block (Xiong et al. 2020, "On Layer Normalization in the
/// Transformer Architecture"; the layout of GPT-2 and ViT):
/// `x ← x + attn(ln1(x))`, `x ← x + mlp(ln2(x))`.
/// Layout `[B, T, D]` → `[B, T, D]`. Keys `ln1.*`, `attn.qkv.*`, `attn.proj.*`, `ln2.*`,
/// `mlp.fc1.*`, `mlp.fc2.*`.
public final class TransformerBlock: UnaryLayer {
    public let ln1: LayerNorm
    public let attention: MultiHeadAttention
    public let ln2: LayerNorm
    public let mlp: TransformerMLP
    public var isTraining = true

    public init(dimension: Int, heads: Int, mlpDimension: Int, dropout: Float = 0, generator: inout RandomGenerator) {
        ln1 = LayerNorm(dimension)
        attention = MultiHeadAttention(dimension: dimension, heads: heads, dropout: dropout, generator: &generator)
        ln2 = LayerNorm(dimension)
        mlp = TransformerMLP(dimension: dimension, hidden: mlpDimension, dropout: dropout, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [("ln1", ln1), ("attn", attention), ("ln2", ln2), ("mlp", mlp)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x + attention(ln1(x))
        return h + mlp(ln2(h))
    }
}
