import Cortex
import XCTest

/// The cache of freed large buffers: reuse, its bound, and eviction of sizes no longer used.
final class StorageCacheTests: XCTestCase {
    func testReuseBoundAndEviction() {
        let previous = Runtime.storageCacheBytes
        defer { Runtime.storageCacheBytes = previous }
        Runtime.storageCacheBytes = 0  // start empty
        Runtime.storageCacheBytes = 3 << 20  // 3 MB
        let mb = (1 << 20) / 4  // floats in 1 MB

        var block: TensorStorage? = TensorStorage(uninitializedCount: mb)
        let address = block!.pointer
        block = nil
        XCTAssertEqual(Runtime.storageCacheHeldBytes, 1 << 20)
        // The next allocation of that size gets the same block back.
        block = TensorStorage(uninitializedCount: mb)
        XCTAssertEqual(block!.pointer, address)
        XCTAssertEqual(Runtime.storageCacheHeldBytes, 0)
        block = nil

        // Three 1 MB blocks fill the cache; a freed 2 MB block evicts two of them.
        var small = (0..<3).map { _ in TensorStorage(uninitializedCount: mb) }
        small.removeAll()
        XCTAssertEqual(Runtime.storageCacheHeldBytes, 3 << 20)
        var large: TensorStorage? = TensorStorage(uninitializedCount: 2 * mb)
        large = nil
        XCTAssertEqual(Runtime.storageCacheHeldBytes, 3 << 20)
        XCTAssertNil(large)
        // Blocks larger than the whole cache are freed at once; small ones bypass it.
        var huge: TensorStorage? = TensorStorage(uninitializedCount: 4 * mb)
        huge = nil
        var tiny: TensorStorage? = TensorStorage(uninitializedCount: 100)
        tiny = nil
        XCTAssertNil(huge)
        XCTAssertNil(tiny)
        XCTAssertEqual(Runtime.storageCacheHeldBytes, 3 << 20)
        Runtime.storageCacheBytes = 0
        XCTAssertEqual(Runtime.storageCacheHeldBytes, 0)
    }
}
