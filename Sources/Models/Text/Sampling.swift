import Cortex
import Foundation

/// An autoregressive model being run one step at a time: feed tokens, read the logits of the
/// next one. Each model keeps what it needs between calls (a GPT its key/value caches, an RNN
/// its hidden state).
public protocol GenerationSession: AnyObject {
    /// Appends `tokens` (at least one) to the context and returns the logits `[V]` of the token
    /// that follows.
    func feed(_ tokens: [Int]) -> [Float]
}

/// Draws a token from `logits / temperature`, restricted to the `topK` most likely when given
/// (nanoGPT's `sample.py`); temperature 0 takes the most likely token.
public func sampleToken(logits: [Float], temperature: Float, topK: Int?, generator: inout RandomGenerator) -> Int {
    precondition(!logits.isEmpty && temperature >= 0, "sampleToken: \(logits.count) logits, temperature \(temperature)")
    var best = 0
    for i in 1..<logits.count where logits[i] > logits[best] { best = i }
    if temperature == 0 { return best }
    var threshold = -Float.infinity
    if let topK, topK > 0, topK < logits.count {
        threshold = logits.sorted(by: >)[topK - 1]
    }
    let top = logits[best]
    var weights = [Double](repeating: 0, count: logits.count)
    var total = 0.0
    for i in 0..<logits.count where logits[i] >= threshold {
        weights[i] = Foundation.exp(Double((logits[i] - top) / temperature))
        total += weights[i]
    }
    var u = generator.nextDouble() * total
    for i in 0..<logits.count where weights[i] > 0 {
        u -= weights[i]
        if u < 0 { return i }
    }
    return best
}

/// Generates `count` tokens after `prompt` (at least one token), calling `onToken` with each
/// as soon as it is drawn; returns them.
@discardableResult
public func generate(
    session: GenerationSession, prompt: [Int], count: Int, temperature: Float = 0.8, topK: Int? = 40,
    generator: inout RandomGenerator, onToken: (Int) -> Void = { _ in }
) -> [Int] {
    precondition(!prompt.isEmpty, "generate: the prompt needs at least one token")
    var logits = session.feed(prompt)
    var produced: [Int] = []
    produced.reserveCapacity(count)
    for index in 0..<count {
        let token = sampleToken(logits: logits, temperature: temperature, topK: topK, generator: &generator)
        produced.append(token)
        onToken(token)
        if index + 1 < count { logits = session.feed([token]) }
    }
    return produced
}
