import Foundation
import XCTest

/// A test case that gets a fresh temporary folder, `folder`, before each test and loses it after.
open class TemporaryFolderTestCase: XCTestCase {
    public private(set) var folder = ""

    open override func setUpWithError() throws {
        try super.setUpWithError()
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("cortex-\(type(of: self))-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    open override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
        super.tearDown()
    }
}
