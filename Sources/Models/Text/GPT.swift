import Cortex
import Foundation

/// The sizes of a GPT. Defaults: nanoGPT's CPU configuration for character-level Shakespeare
/// (Karpathy 2022, `config/train_shakespeare_char.py` run with `--device=cpu`): 4 layers,
/// 4 heads, 128-dimensional embeddings, a context of 64 tokens, no dropout.
public struct GPTConfig: Codable, Equatable, Sendable {
    /// Number of distinct tokens.
    public var vocabularySize = 65
    /// Longest context the position embedding covers.
    public var blockSize = 64
    public var layers = 4
    public var heads = 4
    public var embedDimension = 128
    /// Dropout after embeddings and on each block's branches.
    public var dropout: Float = 0
    /// Biases in the linear layers (LayerNorm always has one).
    public var bias = true

    /// What cannot be built, as one line, or nil.
    public var problem: String? {
        guard (1...1 << 20).contains(vocabularySize), (1...1 << 16).contains(blockSize), (1...256).contains(layers),
            (1...256).contains(heads), (1...1 << 14).contains(embedDimension)
        else {
            return
                "GPT sizes out of range: vocabulary \(vocabularySize), block \(blockSize), layers \(layers), heads \(heads), width \(embedDimension)"
        }
        if embedDimension % heads != 0 { return "\(heads) heads do not divide the width \(embedDimension)" }
        if !(dropout >= 0 && dropout < 1) { return "dropout \(dropout) outside [0, 1)" }
        return nil
    }

    public init(
        vocabularySize: Int = 65, blockSize: Int = 64, layers: Int = 4, heads: Int = 4,
        embedDimension: Int = 128, dropout: Float = 0, bias: Bool = true
    ) {
        self.vocabularySize = vocabularySize
        self.blockSize = blockSize
        self.layers = layers
        self.heads = heads
        self.embedDimension = embedDimension
        self.dropout = dropout
        self.bias = bias
    }
}

/// A decoder-only Transformer language model, GPT-2's architecture (Radford et al. 2019) as
/// nanoGPT writes it: token + learned position embeddings, `layers` pre-LN causal
/// `TransformerBlock`s, a final LayerNorm, and an output head tied to the token embedding
/// (Press & Wolf 2017): `logits = ln_f(x)·wteᵀ`.
///
/// Layout: tokens `[B, T]` (T ≤ blockSize) → logits `[B, T, V]`.
/// Keys: `wte.weight [V, C]`, `wpe.weight [blockSize, C]`, `blocks.{i}.…` (see
/// `TransformerBlock`), `ln_f.weight`, `ln_f.bias [C]`. The head has no key of its own (it is
/// `wte.weight`). Initialisation as nanoGPT: N(0, 0.02) for embeddings and linear weights,
/// zero biases, and N(0, 0.02/√(2·layers)) for the projections into the residual stream
/// (`attn.proj`, `mlp.fc2`, GPT-2's scaled init).
public final class GPT: Module {
    public let config: GPTConfig
    public let wte: Embedding
    public let wpe: Embedding
    public let dropout: Dropout
    public let blocks: ModuleList<TransformerBlock>
    public let lnF: LayerNorm
    public var isTraining = true

    public init(config: GPTConfig, generator: inout RandomGenerator) {
        precondition(
            config.vocabularySize > 0 && config.blockSize > 0 && config.layers > 0,
            "GPT: vocabulary, block size and layers must be positive, got \(config)")
        self.config = config
        let C = config.embedDimension
        wte = Embedding(
            count: config.vocabularySize, dimension: C, weightInit: .normal(std: 0.02), generator: &generator)
        wpe = Embedding(count: config.blockSize, dimension: C, weightInit: .normal(std: 0.02), generator: &generator)
        dropout = Dropout(probability: config.dropout, generator: &generator)
        var blocks: [TransformerBlock] = []
        let residualStd = 0.02 / Float(2 * config.layers).squareRoot()
        for _ in 0..<config.layers {
            let block = TransformerBlock(
                embedDimension: C, heads: config.heads, dropout: config.dropout, bias: config.bias,
                causal: true, generator: &generator)
            for (linear, std) in [
                (block.attn.qkv, 0.02), (block.attn.proj, residualStd),
                (block.mlp.fc1, 0.02), (block.mlp.fc2, residualStd)
            ] as [(Linear, Float)] {
                let values = linear.weight.storage.pointer
                for i in 0..<linear.weight.count { values[i] = std * generator.nextNormal() }
                if let bias = linear.bias { bias.storage.pointer.update(repeating: 0, count: bias.count) }
            }
            blocks.append(block)
        }
        self.blocks = ModuleList(blocks)
        lnF = LayerNorm(C)
    }

    public var children: [(name: String, module: any Module)] {
        [("wte", wte), ("wpe", wpe), ("dropout", dropout), ("blocks", blocks), ("ln_f", lnF)]
    }

    /// Logits `[B, T, V]` for `tokens` (`B·T` token ids, row-major `[B, T]`).
    public func callAsFunction(_ tokens: [Int], batchSize B: Int) -> Tensor {
        precondition(B > 0 && tokens.count % B == 0, "GPT: \(tokens.count) tokens do not split into \(B) rows")
        let T = tokens.count / B
        precondition(T > 0 && T <= config.blockSize, "GPT: sequence length \(T) outside 1…\(config.blockSize)")
        let positions = wpe(Array(0..<T), shape: [T])  // (T, C)
        var x = dropout(wte(tokens, shape: [B, T]) + positions)  // (B, T, C)
        for block in blocks { x = block(x) }
        return linear(lnF(x), weight: wte.weight)  // (B, T, V)
    }

    /// Mean cross-entropy of next-token prediction on `[B, T]` inputs and targets.
    public func loss(inputs: [Int], targets: [Int], batchSize: Int) -> Tensor {
        crossEntropy(logits: self(inputs, batchSize: batchSize), targets: targets)
    }

    /// Logits `[V]` after feeding `tokens` at positions `cache.count…` of every block's cache.
    func nextLogits(_ tokens: [Int], caches: [KeyValueCache]) -> [Float] {
        withNoGrad {
            let T = tokens.count, start = caches[0].count
            precondition(
                start + T <= config.blockSize,
                "GPT: \(start) cached + \(T) new positions exceed the block size \(config.blockSize)")
            var x = wte(tokens, shape: [1, T]) + wpe(Array(start..<(start + T)), shape: [T])
            for (block, cache) in zip(blocks, caches) { x = block(x, cache: cache) }
            let last = x.slice(axis: 1, start: T - 1, end: T).reshaped([1, config.embedDimension])
            return linear(lnF(last), weight: wte.weight).scalars
        }
    }
}

// MARK: - Generation

/// GPT generation with a key/value cache per block: a new token costs one position of
/// attention. When the context reaches the block size the window slides: the cache is rebuilt
/// from the last `blockSize − slide` tokens (one forward pass of that prefix) and generation
/// continues from there, so the model always sees at most `blockSize` tokens, at positions
/// starting from 0, as it was trained.
public final class GPTSession: GenerationSession {
    public let model: GPT
    /// Tokens dropped from the front each time the window slides (default half the block).
    public let slide: Int
    private let caches: [KeyValueCache]
    /// The tokens in the cache now.
    public private(set) var context: [Int] = []

    public init(model: GPT, slide: Int? = nil) {
        self.model = model
        let blockSize = model.config.blockSize
        self.slide = max(1, min(slide ?? blockSize / 2, blockSize))
        caches = model.blocks.map { $0.makeCache(capacity: blockSize) }
        model.eval()
    }

    public func feed(_ tokens: [Int]) -> [Float] {
        precondition(!tokens.isEmpty, "GPTSession.feed: no tokens")
        let blockSize = model.config.blockSize
        if context.count + tokens.count <= blockSize {
            context += tokens
            return model.nextLogits(tokens, caches: caches)
        }
        // Slide: keep the newest tokens that leave `slide` free positions (or the last block).
        let all = context + tokens
        let keep = max(min(blockSize - slide, all.count), min(tokens.count, blockSize))
        context = Array(all.suffix(keep))
        for cache in caches { cache.reset() }
        return model.nextLogits(context, caches: caches)
    }
}
