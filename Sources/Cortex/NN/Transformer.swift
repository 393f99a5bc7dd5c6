// The Transformer's parts (Vaswani et al. 2017), in the pre-LayerNorm arrangement of GPT-2
// (Radford et al. 2019) and ViT (Dosovitskiy et al. 2021): multi-head self-attention with a
// fused QKV projection, the GELU MLP, and the block that joins them with residuals.
// Parameter names follow timm's `VisionTransformer` blocks (`norm1`, `attn.qkv`, `attn.proj`,
// `norm2`, `mlp.fc1`, `mlp.fc2`), so a ViT checkpoint maps onto them key for key.

// MARK: - Key/value cache

/// The keys and values of the positions seen so far by one attention layer, for incremental
/// decoding: each new token costs one position of attention instead of the whole prefix.
///
/// Layout: keys and values `[B, H, capacity, D]`; positions `0..<count` are filled.
public final class KeyValueCache {
    public let batchSize: Int, heads: Int, capacity: Int, headDimension: Int
    /// Positions stored so far.
    public internal(set) var count = 0
    let keys: TensorStorage, values: TensorStorage

    public init(batchSize: Int = 1, heads: Int, capacity: Int, headDimension: Int) {
        precondition(
            batchSize > 0 && heads > 0 && capacity > 0 && headDimension > 0,
            "KeyValueCache: sizes must be positive, got B \(batchSize) H \(heads) capacity \(capacity) D \(headDimension)"
        )
        self.batchSize = batchSize
        self.heads = heads
        self.capacity = capacity
        self.headDimension = headDimension
        keys = TensorStorage(count: batchSize * heads * capacity * headDimension)
        values = TensorStorage(count: batchSize * heads * capacity * headDimension)
    }

    /// Forgets every position.
    public func reset() { count = 0 }

    /// Where position `t` of head `h`, batch `b` lives.
    var layout: AttentionOperand {
        AttentionOperand(
            offset: 0, batch: heads * capacity * headDimension, head: capacity * headDimension, row: headDimension)
    }
}

// MARK: - Multi-head self-attention

/// Multi-head self-attention with one fused input projection (Vaswani et al. 2017, §3.2.2):
/// `[q k v] = x·W_qkvᵀ + b_qkv`, each of q, k, v split into `heads` heads of `C / heads`
/// features, `softmax(q·kᵀ/√D + mask)·v` per head, heads concatenated, then `proj`.
///
/// Layout: x `[B, T, C]` → `[B, T, C]`. Parameters: `qkv.weight [3C, C]`, `qkv.bias [3C]`,
/// `proj.weight [C, C]`, `proj.bias [C]` (timm's `Attention`; nanoGPT's `c_attn`/`c_proj`).
/// Dropout (`dropout.probability`) applies to the projected output, as nanoGPT's `resid_dropout`.
/// With `storesAttentionWeights` the last call's probabilities `[B, H, T, T]` are kept in
/// `attentionWeights` (for attention maps).
public final class MultiHeadSelfAttention: Module {
    public let qkv: Linear
    public let proj: Linear
    public let dropout: Dropout
    public let heads: Int
    public let embedDimension: Int
    public var isTraining = true
    public var storesAttentionWeights = false
    public private(set) var attentionWeights: Tensor?

    public init(
        embedDimension: Int, heads: Int, bias: Bool = true, dropout: Float = 0,
        generator: inout RandomGenerator
    ) {
        precondition(
            heads > 0 && embedDimension % heads == 0,
            "MultiHeadSelfAttention: embedDimension \(embedDimension) is not divisible by \(heads) heads")
        self.heads = heads
        self.embedDimension = embedDimension
        qkv = Linear(
            inputFeatures: embedDimension, outputFeatures: 3 * embedDimension, bias: bias, generator: &generator)
        proj = Linear(inputFeatures: embedDimension, outputFeatures: embedDimension, bias: bias, generator: &generator)
        self.dropout = Dropout(probability: dropout, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] { [("qkv", qkv), ("proj", proj), ("dropout", dropout)] }

    public var headDimension: Int { embedDimension / heads }

    /// Self-attention over `x` `[B, T, C]`; `causal` hides later positions, `keyPaddingMask`
    /// (`B·T` flags, true = padding) hides padded keys.
    public func callAsFunction(_ x: Tensor, causal: Bool = false, keyPaddingMask: [Bool]? = nil) -> Tensor {
        precondition(
            x.rank == 3 && x.shape[2] == embedDimension,
            "MultiHeadSelfAttention: input \(x.shape) is not [B, T, \(embedDimension)]")
        let (y, weights) = fusedSelfAttention(qkv: qkv(x), heads: heads, causal: causal, keyPaddingMask: keyPaddingMask)
        attentionWeights = storesAttentionWeights ? weights : nil
        return dropout(proj(y))
    }

    /// Causal attention of the new positions `x` `[B, T, C]` to themselves and to everything in
    /// `cache`, whose keys and values are extended by the new positions. Inference only (no graph).
    public func callAsFunction(_ x: Tensor, cache: KeyValueCache) -> Tensor {
        let (B, T, C) = (x.shape[0], x.shape[1], x.shape[2])
        precondition(
            x.rank == 3 && C == embedDimension && B == cache.batchSize && cache.heads == heads
                && cache.headDimension == headDimension,
            "MultiHeadSelfAttention(cache:): input \(x.shape) does not fit a cache of B \(cache.batchSize), \(cache.heads) heads × \(cache.headDimension)"
        )
        precondition(
            cache.count + T <= cache.capacity,
            "MultiHeadSelfAttention(cache:): \(cache.count) cached + \(T) new positions exceed capacity \(cache.capacity)"
        )
        return withNoGrad {
            let packed = qkv(x)  // (B, T, 3C)
            let D = headDimension, start = cache.count
            let source = packed.storage.pointer, kl = cache.layout
            for b in 0..<B {
                for h in 0..<heads {
                    for t in 0..<T {
                        let row = source + (b * T + t) * 3 * C + h * D
                        let slot = kl.base(b, h) + (start + t) * D
                        (cache.keys.pointer + slot).update(from: row + C, count: D)
                        (cache.values.pointer + slot).update(from: row + 2 * C, count: D)
                    }
                }
            }
            cache.count += T
            let shape = AttentionShape(
                B: B, H: heads, Tq: T, Tk: cache.count, D: D, Dv: D,
                scale: 1 / Float(D).squareRoot(), causal: true, keyPadding: nil)
            let out = TensorStorage(uninitializedCount: B * T * C)
            let probs = TensorStorage(uninitializedCount: B * heads * T * cache.count)
            AttentionKernel.forward(
                shape, q: source, .packed(part: 0, length: T, width: C, headWidth: D),
                k: cache.keys.pointer, kl, v: cache.values.pointer, kl,
                out: out.pointer, AttentionOperand(offset: 0, batch: T * C, head: D, row: C),
                probs: probs.pointer)
            return proj(Tensor(shape: [B, T, C], storage: out))
        }
    }
}

// MARK: - MLP

/// The Transformer's position-wise feed-forward network: `fc2(dropout?(GELU(fc1(x))))`, hidden width
/// `hiddenFeatures` (4·C in GPT-2 and ViT), exact GELU (Hendrycks & Gimpel 2016) as
/// `torch.nn.GELU()`. Dropout on the output (nanoGPT's MLP dropout). Keys `fc1.*`, `fc2.*`
/// (timm's `Mlp`).
public final class TransformerMLP: UnaryLayer {
    public let fc1: Linear
    public let fc2: Linear
    public let dropout: Dropout
    public var isTraining = true

    public init(
        features: Int, hiddenFeatures: Int, bias: Bool = true, dropout: Float = 0, generator: inout RandomGenerator
    ) {
        fc1 = Linear(inputFeatures: features, outputFeatures: hiddenFeatures, bias: bias, generator: &generator)
        fc2 = Linear(inputFeatures: hiddenFeatures, outputFeatures: features, bias: bias, generator: &generator)
        self.dropout = Dropout(probability: dropout, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] { [("fc1", fc1), ("fc2", fc2), ("dropout", dropout)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(fc2(fc1(x).gelu())) }
}

// MARK: - Block

/// A pre-LayerNorm Transformer block (GPT-2, Radford et al. 2019; ViT, Dosovitskiy et al. 2021):
/// `x = x + attn(norm1(x))`, then `x = x + mlp(norm2(x))`.
///
/// Layout: `[B, T, C]` → `[B, T, C]`. Keys: `norm1.weight/bias [C]`, `attn.qkv.weight [3C, C]`,
/// `attn.qkv.bias [3C]`, `attn.proj.weight [C, C]`, `attn.proj.bias [C]`, `norm2.weight/bias [C]`,
/// `mlp.fc1.weight [4C, C]`, `mlp.fc1.bias [4C]`, `mlp.fc2.weight [C, 4C]`, `mlp.fc2.bias [C]`
/// (timm's `Block`, with `mlpRatio` 4). `causal` (GPT) hides later positions; a ViT leaves it
/// false. `dropout` is applied to each branch's output before the residual sum. Linear layers
/// start with PyTorch's default initialisation; models re-initialise as their paper says.
public final class TransformerBlock: UnaryLayer {
    public let norm1: LayerNorm
    public let attn: MultiHeadSelfAttention
    public let norm2: LayerNorm
    public let mlp: TransformerMLP
    public let causal: Bool
    public var isTraining = true

    public init(
        embedDimension: Int, heads: Int, mlpRatio: Float = 4, dropout: Float = 0, bias: Bool = true,
        causal: Bool = false, generator: inout RandomGenerator
    ) {
        norm1 = LayerNorm(embedDimension)
        attn = MultiHeadSelfAttention(
            embedDimension: embedDimension, heads: heads, bias: bias, dropout: dropout,
            generator: &generator)
        norm2 = LayerNorm(embedDimension)
        mlp = TransformerMLP(
            features: embedDimension, hiddenFeatures: Int(Float(embedDimension) * mlpRatio),
            bias: bias, dropout: dropout, generator: &generator)
        self.causal = causal
    }

    public var children: [(name: String, module: any Module)] {
        [("norm1", norm1), ("attn", attn), ("norm2", norm2), ("mlp", mlp)]
    }

    /// The block on `x` `[B, T, C]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, keyPaddingMask: nil) }

    /// The block on `x` `[B, T, C]` with padded keys hidden (`B·T` flags, true = padding).
    public func callAsFunction(_ x: Tensor, keyPaddingMask: [Bool]?) -> Tensor {
        let h = x + attn(norm1(x), causal: causal, keyPaddingMask: keyPaddingMask)
        return h + mlp(norm2(h))
    }

    /// Incremental decoding: the new positions `x` `[B, T, C]` attend to themselves and to the
    /// cached ones (always causal). Inference only.
    public func callAsFunction(_ x: Tensor, cache: KeyValueCache) -> Tensor {
        withNoGrad {
            let h = x + attn(norm1(x), cache: cache)
            return h + mlp(norm2(h))
        }
    }

    /// A cache for this block's attention, `capacity` positions.
    public func makeCache(batchSize: Int = 1, capacity: Int) -> KeyValueCache {
        KeyValueCache(batchSize: batchSize, heads: attn.heads, capacity: capacity, headDimension: attn.headDimension)
    }
}
