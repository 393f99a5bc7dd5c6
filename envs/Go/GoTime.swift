/// A game's clock as GTP sets it (`time_settings`, `kgs-time_settings`, `time_left`): main time,
/// then Canadian byo-yomi of `byoYomiSeconds` for `byoYomiStones` moves. Main time 0 with
/// byo-yomi 0 means no limit. Japanese byo-yomi is treated as Canadian with one stone a period.
public struct GoClock: Equatable, Sendable {
    public var mainSeconds: Double
    public var byoYomiSeconds: Double
    public var byoYomiStones: Int
    /// What `time_left` last said: seconds left, and stones left in the period (0 in main time).
    public var secondsLeft: Double
    public var stonesLeft: Int

    public init(mainSeconds: Double = 0, byoYomiSeconds: Double = 0, byoYomiStones: Int = 0) {
        self.mainSeconds = mainSeconds
        self.byoYomiSeconds = byoYomiSeconds
        self.byoYomiStones = byoYomiStones
        secondsLeft = mainSeconds
        stonesLeft = 0
    }

    /// No time limit.
    public var isUnlimited: Bool { mainSeconds == 0 && byoYomiSeconds == 0 }

    /// Seconds to spend on the next move, or nil without a limit: in byo-yomi the period's time
    /// shared by its stones, in main time the time left shared by the moves a game of this board
    /// still expects (at least 12 more of ours) plus most of one byo-yomi period; a safety margin
    /// of 10% and 0.3 s is kept for the protocol and the controller.
    public func budget(size: Int, moveNumber: Int) -> Double? {
        guard !isUnlimited else { return nil }
        var seconds: Double
        if stonesLeft > 0 {
            seconds = secondsLeft / Double(stonesLeft)
        } else {
            let movesLeft = max(12, (size * size * 3 / 4 - moveNumber) / 2)
            seconds = secondsLeft / Double(movesLeft)
            if byoYomiStones > 0 { seconds += 0.8 * byoYomiSeconds / Double(byoYomiStones) }
        }
        return max(0.05, 0.9 * seconds - 0.3)
    }
}
