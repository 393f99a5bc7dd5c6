import Foundation

/// Corpus BLEU (Papineni et al. 2002) as sacrebleu computes it (Post 2018), so figures compare
/// with published ones: n-gram counts clipped by the most any one reference holds, summed over
/// the corpus; the reference length of each hypothesis is the closest one (ties: the shorter);
/// brevity penalty exp(1 − r/c) when c < r; BLEU-n is the geometric mean of the 1…n-gram
/// precisions times the penalty, on a 0–100 scale, with sacrebleu's default "exp" smoothing
/// (an order with no match counts as 1/(2^k · total), k the number of such orders so far).
///
/// Tokenisation is sacrebleu's `13a` on the characters captions use: words split at spaces and
/// commas and full stops as tokens of their own.
public enum BLEU {
    public struct Score: Equatable, Sendable {
        /// BLEU on sacrebleu's 0–100 scale.
        public var score: Double
        /// The n-gram precisions, in percent, 1…n.
        public var precisions: [Double]
        public var brevityPenalty: Double
        public var hypothesisLength: Int
        public var referenceLength: Int
    }

    /// Tokens of a sentence: whitespace-separated words with `,` and `.` split off.
    public static func tokenize(_ sentence: String) -> [String] {
        var spaced = ""
        spaced.reserveCapacity(sentence.count + 8)
        for c in sentence {
            if c == "," || c == "." { spaced += " \(c) " } else { spaced.append(c) }
        }
        return spaced.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    }

    /// Corpus BLEU of `hypotheses` against `references` (one list per hypothesis), orders 1…`maxOrder`.
    public static func corpus(hypotheses: [String], references: [[String]], maxOrder: Int = 4) -> Score {
        precondition(hypotheses.count == references.count, "BLEU: \(hypotheses.count) hypotheses, \(references.count) reference lists")
        precondition(maxOrder >= 1, "BLEU: max order \(maxOrder)")
        var correct = [Double](repeating: 0, count: maxOrder), total = [Double](repeating: 0, count: maxOrder)
        var hypothesisLength = 0, referenceLength = 0
        for (hypothesis, refs) in zip(hypotheses, references) {
            let h = tokenize(hypothesis)
            let rs = refs.map(tokenize)
            hypothesisLength += h.count
            // Closest reference length, ties to the shorter.
            var best: (diff: Int, length: Int)?
            for r in rs {
                let d = abs(h.count - r.count)
                if best == nil || d < best!.diff || (d == best!.diff && r.count < best!.length) { best = (d, r.count) }
            }
            referenceLength += best?.length ?? 0
            for n in 1...maxOrder {
                let counts = ngrams(h, n)
                var maxRef: [String: Int] = [:]
                for r in rs { for (g, c) in ngrams(r, n) { maxRef[g] = max(maxRef[g] ?? 0, c) } }
                for (g, c) in counts { correct[n - 1] += Double(min(c, maxRef[g] ?? 0)) }
                total[n - 1] += Double(max(0, h.count - n + 1))
            }
        }
        var penalty = 1.0
        if hypothesisLength < referenceLength {
            penalty = hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
        }
        var precisions = [Double](repeating: 0, count: maxOrder)
        guard correct.contains(where: { $0 > 0 }) else {
            return Score(score: 0, precisions: precisions, brevityPenalty: penalty,
                         hypothesisLength: hypothesisLength, referenceLength: referenceLength)
        }
        var smooth = 1.0
        for n in 0..<maxOrder {
            if total[n] == 0 { break }
            if correct[n] == 0 {
                smooth *= 2
                precisions[n] = 100 / (smooth * total[n])
            } else {
                precisions[n] = 100 * correct[n] / total[n]
            }
        }
        // sacrebleu's log of 0 is −9,999,999,999: an order with no n-gram at all zeroes the score.
        let logs = precisions.map { $0 > 0 ? log($0) : -9_999_999_999 }
        let score = penalty * exp(logs.reduce(0, +) / Double(maxOrder))
        return Score(score: score, precisions: precisions, brevityPenalty: penalty,
                     hypothesisLength: hypothesisLength, referenceLength: referenceLength)
    }

    static func ngrams(_ tokens: [String], _ n: Int) -> [String: Int] {
        var out: [String: Int] = [:]
        guard tokens.count >= n else { return out }
        for i in 0...(tokens.count - n) { out[tokens[i..<(i + n)].joined(separator: " "), default: 0] += 1 }
        return out
    }
}
