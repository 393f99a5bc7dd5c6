import Foundation

/// Recently freed large tensor buffers, handed to the next allocation of the same size.
///
/// Why: glibc serves blocks above its mmap threshold (at most 32 MB) with fresh `mmap`
/// pages, so every large op result would page-fault its whole output on first write, and a
/// training step frees and reallocates the same sizes every iteration. Buffers of at least
/// `minimumBytes` are kept here, up to `Runtime.storageCacheBytes` in all; smaller ones go
/// straight back to malloc, which recycles them well.
enum StorageCache {
    static let minimumBytes = 1 << 17
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var heldBytes = 0
    nonisolated(unsafe) static var limitBytes = 512 << 20
    private static let lock = NSLock()

    /// A 64-byte-aligned block of `byteCount` bytes, reused when one is cached.
    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumBytes {
            lock.lock()
            let reused = free[byteCount]?.popLast()
            if reused != nil { heldBytes -= byteCount }
            lock.unlock()
            if let reused { return reused }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Returns a block from `allocate(byteCount:)`: kept for reuse or freed. When the cache
    /// is full, blocks of other sizes are freed to make room, so it follows the sizes in use.
    static func release(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= minimumBytes && byteCount <= limitBytes {
            var evicted: [UnsafeMutableRawPointer] = []
            lock.lock()
            while heldBytes + byteCount > limitBytes,
                let size = free.first(where: { $0.key != byteCount && !$0.value.isEmpty })?.key
            {
                evicted.append(free[size]!.removeLast())
                heldBytes -= size
                if free[size]!.isEmpty { free[size] = nil }
            }
            let keep = heldBytes + byteCount <= limitBytes
            if keep {
                free[byteCount, default: []].append(pointer)
                heldBytes += byteCount
            }
            lock.unlock()
            for block in evicted { block.deallocate() }
            if keep { return }
        }
        pointer.deallocate()
    }

    /// Bytes currently held for reuse.
    static var cachedBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return heldBytes
    }

    /// Frees every cached block.
    static func clear() {
        lock.lock()
        for block in free.values.joined() { block.deallocate() }
        free = [:]
        heldBytes = 0
        lock.unlock()
    }
}
