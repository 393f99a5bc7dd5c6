import Foundation

/// One candidate move of an analysis, from the view of the player to move.
public struct GoCandidate: Equatable, Sendable {
    public var move: GoMove
    /// Search visits through this move (a network without search reports 1: one evaluation).
    public var visits: Int
    /// Win probability for the player to move after this move, in [0, 1].
    public var winRate: Double
    /// The prior probability the player gave this move before searching, in [0, 1].
    public var prior: Double
    /// A lower confidence bound on `winRate`, in [0, 1].
    public var lowerConfidenceBound: Double
    /// The line expected after this move, starting with it.
    public var principalVariation: [GoMove]

    public init(
        move: GoMove, visits: Int, winRate: Double, prior: Double, lowerConfidenceBound: Double,
        principalVariation: [GoMove]
    ) {
        self.move = move
        self.visits = visits
        self.winRate = winRate
        self.prior = prior
        self.lowerConfidenceBound = lowerConfidenceBound
        self.principalVariation = principalVariation
    }
}

/// What a player thinks of a position: candidate moves best first (the GUIs' `order`), and the
/// prior over every move (GoGui's policy view).
public struct GoAnalysis: Sendable {
    /// The player to move in the analysed position.
    public var color: GoColor
    /// Candidates, best first.
    public var candidates: [GoCandidate]
    /// Prior probability per action (points row-major, then pass; 0 where illegal).
    public var policy: [Double]
    /// The position's win probability for `color`, in [0, 1].
    public var winRate: Double

    public init(color: GoColor, candidates: [GoCandidate], policy: [Double], winRate: Double) {
        self.color = color
        self.candidates = candidates
        self.policy = policy
        self.winRate = winRate
    }
}

/// A move generator that can show its thinking: GTP `lz-analyze`, `kata-analyze` and the GoGui
/// analyze commands are offered only when the engine's generator is one.
public protocol GoAnalyzer: GoMoveGenerator {
    /// True when thinking longer changes the answer (a tree search); a network answers at once.
    var searches: Bool { get }
    /// Analyses `color`'s move in `game`, thinking about `seconds` more. A search keeps its tree
    /// between calls on the same position, so repeated calls refine one analysis, and a
    /// `generateMove` that follows reuses it.
    func analyze(_ game: GoGame, for color: GoColor, seconds: Double) -> GoAnalysis
}

extension GTP {
    /// The two streaming analysis formats GUIs parse.
    public enum AnalysisFormat: Sendable {
        /// Leela Zero's `lz-analyze` (Lizzie, Sabaki): winrate, prior and lcb as integers in
        /// 0…10000.
        case leelaZero
        /// KataGo's `kata-analyze` (Sabaki, KaTrain, Lizzie for KataGo): the same as floats in [0, 1].
        case kataGo
    }

    /// One analysis line: every candidate as `info move V visits N winrate W prior P lcb L
    /// order K pv V …`, the first `maxMoves` candidates, on one line.
    public static func analysisLine(
        _ analysis: GoAnalysis, size: Int, format: AnalysisFormat, maxMoves: Int = .max
    ) -> String {
        func number(_ x: Double) -> String {
            let clamped = min(max(x, 0), 1)
            switch format {
            case .leelaZero: return String(Int(clamped * 10000))
            case .kataGo: return String(format: "%.6f", clamped)
            }
        }
        return analysis.candidates.prefix(maxMoves).enumerated().map { order, c in
            "info move \(c.move.vertex(size: size)) visits \(c.visits) winrate \(number(c.winRate))"
                + " prior \(number(c.prior)) lcb \(number(c.lowerConfidenceBound)) order \(order) pv "
                + c.principalVariation.map { $0.vertex(size: size) }.joined(separator: " ")
        }.joined(separator: " ")
    }

    /// GoGui's analyze commands (`gogui-analyze_commands`), as `type/label/command`.
    public static let goGuiAnalyzeCommands = [
        "gfx/Cortex policy/cortex-policy",
        "gfx/Cortex win rates/cortex-winrates"
    ]

    /// GoGui gfx for the prior: `INFLUENCE` shading each point by its prior relative to the
    /// largest, `LABEL`s with the percentages of the five likeliest moves, `TEXT` naming them.
    public static func policyGfx(_ analysis: GoAnalysis, size: Int) -> String {
        let top = analysis.policy.max() ?? 0
        var influence: [String] = []
        for a in 0..<(size * size) where analysis.policy[a] > 0 && top > 0 {
            let point = GoPoint(column: a % size, row: a / size)
            influence.append(point.vertex(size: size) + String(format: " %.3f", analysis.policy[a] / top))
        }
        let ranked = analysis.policy.indices.sorted { analysis.policy[$0] > analysis.policy[$1] }
            .prefix(5).filter { analysis.policy[$0] > 0 }
        let labels = ranked.filter { $0 < size * size }.map {
            GoPoint(column: $0 % size, row: $0 / size).vertex(size: size)
                + " " + String(format: "%.0f", 100 * analysis.policy[$0])
        }
        let pass = size * size < analysis.policy.count ? analysis.policy[size * size] : 0
        var lines: [String] = []
        if !influence.isEmpty { lines.append("INFLUENCE " + influence.joined(separator: " ")) }
        if !labels.isEmpty { lines.append("LABEL " + labels.joined(separator: " ")) }
        lines.append(
            String(format: "TEXT %@ prior, pass %.1f%%", analysis.color == .black ? "Black" : "White", 100 * pass))
        return lines.joined(separator: "\n")
    }

    /// GoGui gfx for the candidates: `LABEL` with each one's win rate in percent, `VAR` with the
    /// best line, `TEXT` with the position's win rate for the player to move.
    public static func winRatesGfx(_ analysis: GoAnalysis, size: Int) -> String {
        var lines: [String] = []
        let labels = analysis.candidates.prefix(10).compactMap { c -> String? in
            guard case .play = c.move else { return nil }
            return c.move.vertex(size: size) + String(format: " %.0f", 100 * c.winRate)
        }
        if !labels.isEmpty { lines.append("LABEL " + labels.joined(separator: " ")) }
        if let best = analysis.candidates.first {
            var color = analysis.color
            var variation: [String] = []
            for move in best.principalVariation {
                variation.append(color.letter.lowercased() + " " + move.vertex(size: size))
                color = color.opponent
            }
            lines.append("VAR " + variation.joined(separator: " "))
        }
        lines.append(
            String(
                format: "TEXT %@ to play, win rate %.1f%%, best %@", analysis.color == .black ? "Black" : "White",
                100 * analysis.winRate, analysis.candidates.first?.move.vertex(size: size) ?? "none"))
        return lines.joined(separator: "\n")
    }
}
