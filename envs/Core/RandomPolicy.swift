/// A uniformly random player: the baseline of every Atari table and the load of `cortex bench envs`.
public enum RandomPolicy {
    /// Steps `env` with uniformly random actions for `steps` steps, resetting whenever an episode
    /// ends; with `observe`, reads every observation as an agent would (floats into a scratch
    /// buffer). Returns the episodes that finished.
    public static func run<E: Environment>(_ env: inout E, steps: Int, seed: UInt64, observe: Bool) -> [EpisodeRecord] {
        var random = MersenneTwister(seed: seed)
        // A raw buffer rather than a closure over `env`: a closure capturing `env` made the
        // optimiser copy the whole game on every observation.
        let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: env.observationShape.count)
        defer { scratch.deallocate() }
        var finished: [EpisodeRecord] = []
        var episodeReturn: Float = 0, episodeLength = 0
        let actions = env.actionCount
        env.reset(seed: nil)
        if observe { env.writeObservation(into: scratch) }
        for _ in 0..<steps {
            let result = env.step(random.nextInt(below: actions))
            episodeReturn += result.reward
            episodeLength += 1
            if result.isDone {
                finished.append(EpisodeRecord(totalReward: episodeReturn, length: episodeLength))
                episodeReturn = 0
                episodeLength = 0
                env.reset(seed: nil)
            }
            if observe { env.writeObservation(into: scratch) }
        }
        return finished
    }

    /// Plays `episodes` whole episodes with uniformly random actions and returns each one's
    /// return and length. `env` should end its episodes by itself or through a `TimeLimit`.
    public static func play<E: Environment>(_ env: inout E, episodes: Int, seed: UInt64) -> [EpisodeRecord] {
        var random = MersenneTwister(seed: seed)
        let actions = env.actionCount
        var records: [EpisodeRecord] = []
        records.reserveCapacity(episodes)
        for _ in 0..<episodes {
            env.reset(seed: nil)
            var record = EpisodeRecord(totalReward: 0, length: 0)
            var done = false
            while !done {
                let result = env.step(random.nextInt(below: actions))
                record.totalReward += result.reward
                record.length += 1
                done = result.isDone
            }
            records.append(record)
        }
        return records
    }
}
