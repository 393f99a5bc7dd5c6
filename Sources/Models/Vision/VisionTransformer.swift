import Cortex
import Foundation

/// Sizes of a Vision Transformer; defaults are this project's for 28×28 grey images.
public struct ViTConfig: Codable, Equatable, Sendable {
    /// Image channels.
    public var channels = 1
    /// Height and width of the (square) input images.
    public var imageSize = 28
    /// Side of the square patches; must divide `imageSize` (28 / 4 = 7 × 7 = 49 patches).
    public var patchSize = 4
    /// Width of every token (the paper's D).
    public var dimension = 64
    /// Number of encoder blocks.
    public var depth = 4
    /// Attention heads per block; must divide `dimension`.
    public var heads = 4
    /// Hidden width of each block's MLP.
    public var mlpDimension = 128
    /// Number of classes.
    public var classes = 10
    /// Dropout after the embeddings, on the attention weights' outputs and in the MLPs.
    public var dropout: Float = 0

    public init(
        channels: Int = 1, imageSize: Int = 28, patchSize: Int = 4, dimension: Int = 64, depth: Int = 4,
        heads: Int = 4, mlpDimension: Int = 128, classes: Int = 10, dropout: Float = 0
    ) {
        self.channels = channels
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.dimension = dimension
        self.depth = depth
        self.heads = heads
        self.mlpDimension = mlpDimension
        self.classes = classes
        self.dropout = dropout
    }

    /// Patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// Patches per image (N); the encoder sees N + 1 tokens with the class token.
    public var patchCount: Int { gridSize * gridSize }

    /// `mlpDimension / dimension`, as `TransformerBlock` takes it.
    public var mlpRatio: Float { Float(mlpDimension) / Float(dimension) }

    /// Why these sizes cannot make a ViT, or nil.
    public var problem: String? {
        if channels < 1 || imageSize < 1 || patchSize < 1 || dimension < 1 || depth < 1 || heads < 1
            || mlpDimension < 1 || classes < 2
        {
            return "ViT sizes must be positive (and at least 2 classes)"
        }
        if imageSize % patchSize != 0 { return "patch size \(patchSize) does not divide image size \(imageSize)" }
        if dimension % heads != 0 { return "\(heads) heads do not divide dimension \(dimension)" }
        if !(dropout >= 0 && dropout < 1) { return "dropout \(dropout) outside [0, 1)" }
        // TransformerBlock takes the MLP width as a ratio to the dimension.
        if Int(Float(dimension) * mlpRatio) != mlpDimension {
            return "MLP width \(mlpDimension) is not reproducible as a ratio of dimension \(dimension)"
        }
        return nil
    }
}

/// Vision Transformer (Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words"): an image cut
/// into patches, each patch a token, a learnable class token in front, learned position
/// embeddings, pre-LN Transformer encoder blocks, and a linear head on the class token.
///
/// ```
/// x [B, C, H, W] → patch_embed (conv k = s = P) → [B, D, H/P, W/P] → tokens [B, N, D]
///   → [cls; tokens] + pos_embed → dropout → blocks × depth → norm → token 0 → head → [B, classes]
/// ```
/// Patch n (row-major over the grid) is token n + 1; token 0 is the class token.
///
/// Keys (timm's names): `cls_token [1, 1, D]`, `pos_embed [1, N + 1, D]`,
/// `patch_embed.proj.weight [D, C, P, P]`, `patch_embed.proj.bias [D]`,
/// `blocks.<i>.norm1.*`, `.attn.qkv.*`, `.attn.proj.*`, `.norm2.*`, `.mlp.fc1.*`, `.mlp.fc2.*`
/// (Cortex's `TransformerBlock`, the GPT's block), `norm.weight`, `norm.bias`,
/// `head.weight [classes, D]`, `head.bias`. Initialisation: class token and positions
/// N(0, 0.02²) (timm's `trunc_normal_(std=.02)` without the truncation, which at 2σ changes
/// nothing measurable), the rest PyTorch's layer defaults. With the defaults (28×28, P = 4,
/// D = 64, depth 4, 4 heads, MLP 128): 139,018 parameters.
public final class VisionTransformer: UnaryLayer {
    public let config: ViTConfig
    public let patchEmbed: PatchEmbedding
    public let classToken: Tensor
    public let positionEmbedding: Tensor
    public let embeddingDropout: Dropout
    public let blocks: ModuleList<TransformerBlock>
    public let norm: LayerNorm
    public let head: Linear
    public var isTraining = true

    public init(_ config: ViTConfig = ViTConfig(), generator: inout RandomGenerator) {
        if let problem = config.problem { preconditionFailure("VisionTransformer: \(problem)") }
        self.config = config
        patchEmbed = PatchEmbedding(
            channels: config.channels, patchSize: config.patchSize,
            dimension: config.dimension, generator: &generator)
        classToken = Tensor.randn([1, 1, config.dimension], std: 0.02, using: &generator)
        classToken.requiresGrad = true
        positionEmbedding = Tensor.randn([1, config.patchCount + 1, config.dimension], std: 0.02, using: &generator)
        positionEmbedding.requiresGrad = true
        embeddingDropout = Dropout(probability: config.dropout, generator: &generator)
        var blocks: [TransformerBlock] = []
        for _ in 0..<config.depth {
            blocks.append(
                TransformerBlock(
                    embedDimension: config.dimension, heads: config.heads,
                    mlpRatio: config.mlpRatio,
                    dropout: config.dropout, generator: &generator))
        }
        self.blocks = ModuleList(blocks)
        norm = LayerNorm(config.dimension)
        head = Linear(inputFeatures: config.dimension, outputFeatures: config.classes, generator: &generator)
    }

    public var localParameters: [NamedTensor] { [("cls_token", classToken), ("pos_embed", positionEmbedding)] }

    public var children: [(name: String, module: any Module)] {
        [
            ("patch_embed", patchEmbed), ("pos_drop", embeddingDropout), ("blocks", blocks), ("norm", norm),
            ("head", head)
        ]
    }

    /// The encoder's input: class token and patch tokens with their positions, `[B, N + 1, D]`.
    public func embed(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && Array(x.shape.dropFirst()) == [config.channels, config.imageSize, config.imageSize],
            "VisionTransformer: expected [B, \(config.channels), \(config.imageSize), \(config.imageSize)], got \(x.shape)"
        )
        let B = x.shape[0], D = config.dimension
        let tokens = patchEmbed(x)  // (B, N, D)
        let cls = classToken.expanded(to: [B, 1, D])  // (B, 1, D)
        return embeddingDropout(Tensor.concat([cls, tokens], axis: 1) + positionEmbedding)  // (B, N + 1, D)
    }

    /// The final class-token features after the last norm, `[B, D]`.
    public func features(_ x: Tensor) -> Tensor {
        var h = embed(x)
        for block in blocks { h = block(h) }
        let B = x.shape[0]
        return norm(h.slice(axis: 1, start: 0, end: 1).reshaped([B, config.dimension]))  // (B, D)
    }

    /// Logits `[B, classes]` of images `[B, C, H, W]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { head(features(x)) }

    /// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"):
    /// how much the class token draws on each patch through all blocks.
    ///
    /// Per block l, the heads' attention is averaged and the residual added as the identity,
    /// rows renormalised: `Ã_l = ½(mean_h A_l + I)`; the rollout is `R = Ã_L · … · Ã_1`, and its
    /// class-token row without the class token itself, `R[0, 1…N]`, is the map. Runs in
    /// evaluation mode without a graph. Returns the logits `[B, classes]` and the maps
    /// `[B, N]` (row-major over the patch grid), each map summing to at most 1.
    public func attentionRollout(_ x: Tensor) -> (logits: Tensor, maps: [[Float]]) {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        var attentions: [Tensor] = []
        for block in blocks { block.attn.storesAttentionWeights = true }
        let logits = withNoGrad { self(x) }
        for block in blocks {
            attentions.append(block.attn.attentionWeights!)
            block.attn.storesAttentionWeights = false
        }
        let B = x.shape[0], H = config.heads, T = config.patchCount + 1
        var maps: [[Float]] = []
        for b in 0..<B {
            var rollout = [Float](repeating: 0, count: T * T)
            for i in 0..<T { rollout[i * T + i] = 1 }
            for attention in attentions {
                let a = attention.storage.pointer + b * H * T * T
                // Ã = ½(mean_h A + I), rows renormalised (they already sum to 1).
                var mixed = [Float](repeating: 0, count: T * T)
                for h in 0..<H {
                    for i in 0..<T * T { mixed[i] += a[h * T * T + i] / Float(H) }
                }
                for i in 0..<T {
                    mixed[i * T + i] += 1
                    var total: Float = 0
                    for j in 0..<T { total += mixed[i * T + j] }
                    for j in 0..<T { mixed[i * T + j] /= total }
                }
                // R ← Ã · R
                var next = [Float](repeating: 0, count: T * T)
                for i in 0..<T {
                    for k in 0..<T where mixed[i * T + k] != 0 {
                        let w = mixed[i * T + k]
                        for j in 0..<T { next[i * T + j] += w * rollout[k * T + j] }
                    }
                }
                rollout = next
            }
            maps.append(Array(rollout[1..<T]))
        }
        return (logits, maps)
    }
}

/// Non-overlapping patches of side P, each mapped linearly to D features: a convolution with
/// kernel = stride = P (as the paper's hybrid-free ViT and timm), then the grid flattened
/// row-major into tokens.
///
/// Layout: `[B, C, H, W]` → `[B, N, D]` with N = (H/P)·(W/P); patch (r, c) of the grid is
/// token `r·(W/P) + c`. Keys `proj.weight [D, C, P, P]`, `proj.bias [D]`.
public final class PatchEmbedding: UnaryLayer {
    public let proj: Conv2d
    public let patchSize: Int
    public var isTraining = true

    public init(channels: Int, patchSize: Int, dimension: Int, generator: inout RandomGenerator) {
        self.patchSize = patchSize
        proj = Conv2d(
            inputChannels: channels, outputChannels: dimension, kernelSize: patchSize, stride: patchSize,
            generator: &generator)
    }

    public var children: [(name: String, module: any Module)] { [("proj", proj)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(
            x.rank == 4 && x.shape[2] % patchSize == 0 && x.shape[3] % patchSize == 0,
            "PatchEmbedding: input \(x.shape) is not [B, C, H, W] with H and W multiples of \(patchSize)")
        let y = proj(x)  // (B, D, H/P, W/P)
        let (B, D) = (y.shape[0], y.shape[1])
        return y.reshaped([B, D, -1]).permuted([0, 2, 1])  // (B, N, D)
    }
}
