import Cortex

/// The recurrent cell a `CharRNN` uses.
public enum RecurrentCellKind: String, Codable, CaseIterable, Sendable {
    case rnn, lstm, gru
}

/// The sizes of a `CharRNN`. Defaults: a 2-layer LSTM of 256 units on 64-dimensional
/// character embeddings (Karpathy 2015, "The Unreasonable Effectiveness of Recurrent Neural
/// Networks", at the size the issue's PyTorch reference trains).
public struct CharRNNConfig: Codable, Equatable, Sendable {
    public var cell: RecurrentCellKind = .lstm
    public var vocabularySize = 65
    public var embedDimension = 64
    public var hiddenSize = 256
    public var layers = 2
    /// Dropout between recurrent layers and before the head.
    public var dropout: Float = 0

    /// What cannot be built, as one line, or nil.
    public var problem: String? {
        guard (1...1 << 20).contains(vocabularySize), (1...1 << 14).contains(embedDimension),
            (1...1 << 14).contains(hiddenSize), (1...64).contains(layers)
        else {
            return
                "recurrent sizes out of range: vocabulary \(vocabularySize), embedding \(embedDimension), hidden \(hiddenSize), layers \(layers)"
        }
        if !(dropout >= 0 && dropout < 1) { return "dropout \(dropout) outside [0, 1)" }
        return nil
    }

    public init(
        cell: RecurrentCellKind = .lstm, vocabularySize: Int = 65, embedDimension: Int = 64,
        hiddenSize: Int = 256, layers: Int = 2, dropout: Float = 0
    ) {
        self.cell = cell
        self.vocabularySize = vocabularySize
        self.embedDimension = embedDimension
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.dropout = dropout
    }
}

/// A character-level recurrent language model (char-RNN, Karpathy 2015): embedding → stacked
/// RNN/LSTM/GRU → linear head over the vocabulary.
///
/// Layout: tokens `[B, T]` → logits `[B, T, V]`. Keys: `embedding.weight [V, E]`,
/// `rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}` (PyTorch's
/// `nn.LSTM` names), `head.weight [V, H]`, `head.bias [V]`.
public final class CharRNN: Module {
    public let config: CharRNNConfig
    public let embedding: Embedding
    /// One of `RNN`, `LSTM`, `GRU` (by `config.cell`).
    public let rnn: any Module
    public let dropout: Dropout
    public let head: Linear
    public var isTraining = true
    private let run: (Tensor, [RecurrentState]?) -> (output: Tensor, state: [RecurrentState])

    public init(config: CharRNNConfig, generator: inout RandomGenerator) {
        self.config = config
        embedding = Embedding(count: config.vocabularySize, dimension: config.embedDimension, generator: &generator)
        func make<Cell: RecurrentCell>(
            _: Cell.Type
        ) -> (any Module, (Tensor, [RecurrentState]?) -> (output: Tensor, state: [RecurrentState])) {
            let network = RecurrentNetwork<Cell>(
                inputSize: config.embedDimension, hiddenSize: config.hiddenSize,
                layers: config.layers, dropout: config.dropout, generator: &generator)
            return (network, { network($0, state: $1) })
        }
        switch config.cell {
        case .rnn: (rnn, run) = make(RNNCell.self)
        case .lstm: (rnn, run) = make(LSTMCell.self)
        case .gru: (rnn, run) = make(GRUCell.self)
        }
        dropout = Dropout(probability: config.dropout, generator: &generator)
        head = Linear(inputFeatures: config.hiddenSize, outputFeatures: config.vocabularySize, generator: &generator)
    }

    public var children: [(name: String, module: any Module)] {
        [("embedding", embedding), ("rnn", rnn), ("dropout", dropout), ("head", head)]
    }

    /// Logits `[B, T, V]` for `tokens` (row-major `[B, T]`) from `state` (zeros when nil), and
    /// the state after the last step.
    public func callAsFunction(
        _ tokens: [Int], batchSize B: Int, state: [RecurrentState]? = nil
    )
        -> (logits: Tensor, state: [RecurrentState])
    {
        precondition(
            B > 0 && tokens.count % B == 0 && !tokens.isEmpty,
            "CharRNN: \(tokens.count) tokens do not split into \(B) rows")
        let (output, last) = run(embedding(tokens, shape: [B, tokens.count / B]), state)
        return (head(dropout(output)), last)
    }

    /// Mean cross-entropy of next-token prediction on `[B, T]` inputs and targets, from zero state.
    public func loss(inputs: [Int], targets: [Int], batchSize: Int) -> Tensor {
        crossEntropy(logits: self(inputs, batchSize: batchSize).logits, targets: targets)
    }
}

/// Char-RNN generation: the hidden state is carried from token to token, so the context is
/// unbounded and each token costs one step.
public final class CharRNNSession: GenerationSession {
    public let model: CharRNN
    public private(set) var state: [RecurrentState]?

    public init(model: CharRNN) {
        self.model = model
        model.eval()
    }

    public func feed(_ tokens: [Int]) -> [Float] {
        precondition(!tokens.isEmpty, "CharRNNSession.feed: no tokens")
        return withNoGrad {
            let (logits, next) = model(tokens, batchSize: 1, state: state)
            state = next
            let V = model.config.vocabularySize
            return Array(logits.scalars.suffix(V))
        }
    }
}
