import Cortex
import Envs

/// A few frames of the agent playing, for TensorBoard's IMAGES tab at each evaluation: the
/// first steps of one greedy episode on a fresh environment, every `stride`-th frame (the
/// reset frame first), tiled `columns` to a row with a `gap`-pixel grey border.
public enum EvaluationFrames {
    public static let tag = "eval/frames"

    /// Plays up to `(count - 1) · stride` steps from a reset of `environment`, choosing each
    /// action with `act` (given the current observation), and returns the tiled picture.
    /// Fewer tiles when the episode ends first; the last tile is then the final frame.
    public static func play(
        _ environment: inout AnyEnvironment, count: Int = 8, stride: Int = 4, columns: Int = 4, gap: Int = 2,
        act: (UnsafeBufferPointer<Float>) -> Int
    ) -> Frame {
        var frames = [environment.render()]
        let observation = UnsafeMutableBufferPointer<Float>.allocate(capacity: environment.observationShape.count)
        defer { observation.deallocate() }
        var step = 0
        while frames.count < count {
            environment.writeObservation(into: observation)
            let result = environment.step(act(UnsafeBufferPointer(observation)))
            step += 1
            if result.isDone {
                frames.append(environment.render())
                break
            }
            if step % stride == 0 { frames.append(environment.render()) }
        }
        return tile(frames, columns: columns, gap: gap)
    }

    /// Frames of one size side by side, `columns` to a row, separated and framed by `gap`
    /// pixels of grey.
    public static func tile(_ frames: [Frame], columns: Int, gap: Int) -> Frame {
        guard let first = frames.first else { return Frame(width: 0, height: 0) }
        let w = first.width, h = first.height
        let cols = max(1, min(columns, frames.count)), rows = (frames.count + cols - 1) / cols
        var out = Frame(
            width: cols * w + (cols + 1) * gap, height: rows * h + (rows + 1) * gap, fill: RGB(128, 128, 128))
        for (i, frame) in frames.enumerated() {
            let x0 = gap + (i % cols) * (w + gap), y0 = gap + (i / cols) * (h + gap)
            for y in 0..<h {
                let src = y * w * 3, dst = ((y0 + y) * out.width + x0) * 3
                out.pixels.replaceSubrange(dst..<(dst + w * 3), with: frame.pixels[src..<(src + w * 3)])
            }
        }
        return out
    }

    /// Writes `picture` to the run's TensorBoard log at `step`.
    public static func log(_ picture: Frame, logger: RunLogger, step: Int) throws {
        guard picture.width > 0 else { return }
        try logger.tensorBoard.addImage(
            tag, width: picture.width, height: picture.height, channels: 3, pixels: picture.pixels, step: step)
    }
}
