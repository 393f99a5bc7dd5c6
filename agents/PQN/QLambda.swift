/// Q(λ) returns over one rollout (Watkins 1989; Peng & Williams 1996; PQN's targets, Gallici et
/// al. 2024): the λ-weighted mix of n-step returns that bootstrap on max_a Q, computed backwards
/// over the rollout for each environment:
///
///     G_t = r_t                                                   if the episode terminated at t
///     G_t = r_t + γ · q_{t+1}                                     if it was truncated at t, or t = T − 1
///     G_t = r_t + γ · ((1 − λ) · q_{t+1} + λ · G_{t+1})          otherwise
///
/// where q_{t+1} = max_a Q(s_{t+1}, a) of the state that followed step t (for a truncated
/// episode, its final observation; for the last step, the observation after the rollout).
/// λ = 0 gives one-step Q-learning targets, λ = 1 Monte-Carlo returns up to the rollout's end.
///
/// Layout: every array is (T, N) row-major, index t · N + i for step t of environment i.
public enum QLambda {
    public static func returns(
        rewards: UnsafeBufferPointer<Float>, terminated: UnsafeBufferPointer<Bool>,
        truncated: UnsafeBufferPointer<Bool>, nextMaxQ: UnsafeBufferPointer<Float>,
        steps: Int, envs: Int, gamma: Float, lambda: Float,
        into returns: UnsafeMutableBufferPointer<Float>
    ) {
        let count = steps * envs
        precondition(
            rewards.count >= count && terminated.count >= count && truncated.count >= count
                && nextMaxQ.count >= count && returns.count >= count,
            "QLambda.returns: buffers shorter than \(steps) steps × \(envs) envs")
        for t in stride(from: steps - 1, through: 0, by: -1) {
            for i in 0..<envs {
                let k = t * envs + i
                if terminated[k] {
                    returns[k] = rewards[k]
                } else if truncated[k] || t == steps - 1 {
                    returns[k] = rewards[k] + gamma * nextMaxQ[k]
                } else {
                    returns[k] = rewards[k] + gamma * ((1 - lambda) * nextMaxQ[k] + lambda * returns[k + envs])
                }
            }
        }
    }

    /// Array form of `returns(…)` (allocates; for tests and small rollouts).
    public static func returns(
        rewards: [Float], terminated: [Bool], truncated: [Bool], nextMaxQ: [Float],
        steps: Int, envs: Int, gamma: Float, lambda: Float
    ) -> [Float] {
        var out = [Float](repeating: 0, count: steps * envs)
        rewards.withUnsafeBufferPointer { r in
            terminated.withUnsafeBufferPointer { d in
                truncated.withUnsafeBufferPointer { u in
                    nextMaxQ.withUnsafeBufferPointer { q in
                        out.withUnsafeMutableBufferPointer {
                            returns(
                                rewards: r, terminated: d, truncated: u, nextMaxQ: q, steps: steps, envs: envs,
                                gamma: gamma, lambda: lambda, into: $0)
                        }
                    }
                }
            }
        }
        return out
    }
}
