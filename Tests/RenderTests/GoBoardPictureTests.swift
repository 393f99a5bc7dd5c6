import Envs
import Render
import XCTest

final class GoBoardPictureTests: XCTestCase {
    func testStonesLastMoveAndClicksLandOnTheirPoints() {
        let picture = GoBoardPicture(size: 9, pixels: 300)
        let board = GoBoard(size: 9, historyLength: 1)
        XCTAssertTrue(board.play(GTP.move("C3", size: 9)!))  // black
        XCTAssertTrue(board.play(GTP.move("G7", size: 9)!))  // white, the last move
        let frame = picture.draw(board)
        XCTAssertEqual(frame.width, picture.width)
        func centre(_ vertex: String) -> (Int, Int) {
            guard case .play(let p)? = GTP.move(vertex, size: 9) else { fatalError() }
            return (picture.margin + p.column * picture.cell, picture.margin + p.row * picture.cell)
        }
        let (bx, by) = centre("C3"), (wx, wy) = centre("G7"), (ex, ey) = centre("E5")
        // Off the centre dot of the last move, but inside the stone.
        XCTAssertEqual(frame[bx + 3, by + 3], GoBoardPicture.blackStone)
        XCTAssertEqual(frame[wx + picture.cell / 3, wy], GoBoardPicture.whiteStone)
        XCTAssertEqual(frame[wx, wy], GoBoardPicture.lastMove)
        XCTAssertEqual(frame[ex, ey], GoBoardPicture.line, "an empty point shows the grid (E5 is a star point)")
        XCTAssertEqual(frame[ex + picture.cell / 3, ey + picture.cell / 3], GoBoardPicture.wood)
        // A click anywhere within half a cell of a point selects it; off the grid selects nothing.
        XCTAssertEqual(picture.point(atX: bx + picture.cell / 3, y: by - picture.cell / 3), GoPoint(column: 2, row: 6))
        XCTAssertNil(picture.point(atX: 1, y: 1))
        // Coordinates: the column letters above the grid are drawn in the label colour.
        let labelBand = (0..<picture.margin - 2).flatMap { y in (0..<frame.width).map { frame[$0, y] } }
        XCTAssertTrue(labelBand.contains(GoBoardPicture.label))
    }
}
