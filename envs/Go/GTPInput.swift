import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GTP commands from a file descriptor, with a look ahead that does not block: an analysis
/// streams until the next command has arrived. The reader keeps its own buffer (no stdio), so a
/// controller that sends several lines at once is seen to have sent them.
public final class GTPInput {
    let descriptor: Int32
    var buffer: [UInt8] = []
    var ended = false

    /// Reads `descriptor` (standard input by default).
    public init(descriptor: Int32 = 0) { self.descriptor = descriptor }

    /// The next line without its line feed, waiting for it; nil at end of input.
    public func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            if ended {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            fill()
        }
    }

    /// True when a whole line (or the end of input) is there to read, waiting at most `seconds`
    /// for it (`.infinity`: until it comes).
    public func hasLine(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds.isFinite ? max(seconds, 0) : 1e9)
        while true {
            if ended || buffer.contains(10) { return true }
            let left = deadline.timeIntervalSinceNow
            var query = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&query, 1, Int32(max(0, min(left, 3600)) * 1000))
            if ready > 0 {
                fill()
            } else if ready == 0 || errno != EINTR {
                if left <= 0 || ready < 0 { return ended || buffer.contains(10) }
            }
        }
    }

    /// One read(2) into the buffer; end of input or an error ends the stream.
    func fill() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 4096) }
        if count > 0 {
            buffer.append(contentsOf: chunk[..<count])
        } else if count == 0 || errno != EINTR {
            ended = true
        }
    }
}
