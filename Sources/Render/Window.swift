#if SDL
import CSDL2
import Envs
import Foundation

/// Why a window could not be opened.
public enum WindowError: Error, CustomStringConvertible, Equatable {
    /// No screen to show a window on: neither `DISPLAY` nor `WAYLAND_DISPLAY` is set, or SDL
    /// started with a video driver that shows nothing (`offscreen`, `dummy`; SDL 2.26 falls back
    /// to `offscreen` silently when it finds no display). The reason says which.
    case noDisplay(reason: String)
    /// SDL refused; the message is `SDL_GetError()`.
    case sdl(String)

    public var description: String {
        switch self {
        case .noDisplay(let reason):
            return "no display to open a window on (\(reason))"
        case .sdl(let message):
            return "cannot open a window: \(message)"
        }
    }
}

/// An SDL2 window showing `Frame`s scaled up by a whole factor with nearest-neighbour sampling
/// (a streaming RGB24 texture stretched over the window), plus the keyboard and mouse.
///
/// One window per process, used from the main thread. Closing the window or pressing Esc is
/// reported as `.quit`; the owner decides when to stop and calls `close()` (or lets it go).
public final class Window {
    /// Size of the frames it shows, in frame pixels.
    public let width: Int
    public let height: Int
    /// Window pixels per frame pixel.
    public let scale: Int
    /// SDL's video driver in use (`x11`, `wayland`, …).
    public let videoDriver: String

    private var window: OpaquePointer?
    private var renderer: OpaquePointer?
    private var texture: OpaquePointer?

    /// Opens a window of `width·scale × height·scale` pixels.
    /// - Throws: `WindowError.noDisplay` when SDL falls back to an invisible driver,
    ///   `WindowError.sdl` with SDL's message when SDL cannot start or make the window.
    public init(title: String, width: Int, height: Int, scale: Int = 1) throws {
        precondition(
            width > 0 && height > 0 && scale > 0,
            "Window: size \(width)×\(height) at scale \(scale) must be positive")
        self.width = width
        self.height = height
        self.scale = scale
        // Without any display SDL would probe Wayland (whose library prints its own complaint
        // on stderr) before falling back to `offscreen`: say so directly instead.
        let environment = ProcessInfo.processInfo.environment
        if ["DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"].allSatisfy({ (environment[$0] ?? "").isEmpty }) {
            throw WindowError.noDisplay(reason: "DISPLAY and WAYLAND_DISPLAY are not set")
        }
        let x11Only = (environment["WAYLAND_DISPLAY"] ?? "").isEmpty && (environment["SDL_VIDEODRIVER"] ?? "").isEmpty
        if x11Only { _ = SDL_SetHint("SDL_VIDEODRIVER", "x11") }  // an X display only: no Wayland probe
        guard SDL_Init(SDL_INIT_VIDEO) == 0 else {
            let display = x11Only ? " (DISPLAY=\(environment["DISPLAY"] ?? ""))" : ""
            throw WindowError.sdl(Self.lastError() + display)
        }
        let driver = SDL_GetCurrentVideoDriver().map { String(cString: $0) } ?? "none"
        videoDriver = driver
        if driver == "offscreen" || driver == "dummy" {
            SDL_QuitSubSystem(SDL_INIT_VIDEO)
            throw WindowError.noDisplay(reason: "SDL's video driver is '\(driver)'")
        }
        _ = SDL_SetHint("SDL_RENDER_SCALE_QUALITY", "0")  // nearest neighbour: crisp pixels
        let centered = Int32(bitPattern: 0x2FFF_0000)  // SDL_WINDOWPOS_CENTERED (a C macro)
        window = SDL_CreateWindow(
            title, centered, centered, Int32(width * scale), Int32(height * scale),
            SDL_WINDOW_SHOWN.rawValue)
        guard window != nil else { throw failure() }
        renderer = SDL_CreateRenderer(window, -1, 0)
        if renderer == nil {
            renderer = SDL_CreateRenderer(window, -1, SDL_RENDERER_SOFTWARE.rawValue)
        }
        guard renderer != nil else { throw failure() }
        texture = SDL_CreateTexture(
            renderer, SDL_PIXELFORMAT_RGB24.rawValue,
            Int32(SDL_TEXTUREACCESS_STREAMING.rawValue), Int32(width), Int32(height))
        guard texture != nil else { throw failure() }
    }

    deinit { close() }

    /// Shows `frame` (of the window's frame size) until the next call.
    public func show(_ frame: Frame) {
        precondition(
            frame.width == width && frame.height == height,
            "Window.show: frame \(frame.width)×\(frame.height), window frames \(width)×\(height)")
        guard let renderer, let texture else { return }
        frame.pixels.withUnsafeBytes { bytes in
            _ = SDL_UpdateTexture(texture, nil, bytes.baseAddress, Int32(width * 3))
        }
        _ = SDL_RenderClear(renderer)
        _ = SDL_RenderCopy(renderer, texture, nil, nil)
        SDL_RenderPresent(renderer)
    }

    /// Changes the title bar's text.
    public func setTitle(_ title: String) {
        if let window { SDL_SetWindowTitle(window, title) }
    }

    /// Input since the last call, oldest first. Key repeats are left out: hold state is in `isDown`.
    public func pollEvents() -> [WindowEvent] {
        var events: [WindowEvent] = []
        var event = SDL_Event()
        while SDL_PollEvent(&event) != 0 {
            switch event.type {
            case SDL_QUIT.rawValue:
                events.append(.quit)
            case SDL_KEYDOWN.rawValue where event.key.repeat == 0:
                let key = Key(keycode: event.key.keysym.sym)
                events.append(key == .escape ? .quit : .keyDown(key))
            case SDL_MOUSEBUTTONDOWN.rawValue:
                events.append(.click(x: Int(event.button.x) / scale, y: Int(event.button.y) / scale))
            default:
                break
            }
        }
        return events
    }

    /// Whether `key` is held down now (after the last `pollEvents`).
    public func isDown(_ key: Key) -> Bool {
        guard let state = SDL_GetKeyboardState(nil), let code = key.scancode else { return false }
        return state[Int(code.rawValue)] != 0
    }

    /// Destroys the window and stops SDL's video; safe to call twice.
    public func close() {
        if let texture { SDL_DestroyTexture(texture) }
        if let renderer { SDL_DestroyRenderer(renderer) }
        if let window { SDL_DestroyWindow(window) }
        let wasOpen = window != nil || renderer != nil || texture != nil
        texture = nil
        renderer = nil
        window = nil
        if wasOpen { SDL_QuitSubSystem(SDL_INIT_VIDEO) }
    }

    private static func lastError() -> String {
        let message = String(cString: SDL_GetError())
        return message.isEmpty ? "unknown SDL error" : message
    }

    /// Cleans up what was made so far and returns SDL's error.
    private func failure() -> WindowError {
        let error = WindowError.sdl(Self.lastError())
        close()
        SDL_QuitSubSystem(SDL_INIT_VIDEO)
        return error
    }
}

extension Key {
    init(keycode: SDL_Keycode) {
        switch keycode {
        case Int32(SDLK_LEFT.rawValue): self = .left
        case Int32(SDLK_RIGHT.rawValue): self = .right
        case Int32(SDLK_UP.rawValue): self = .up
        case Int32(SDLK_DOWN.rawValue): self = .down
        case Int32(SDLK_SPACE.rawValue): self = .space
        case Int32(SDLK_RETURN.rawValue): self = .enter
        case Int32(SDLK_ESCAPE.rawValue): self = .escape
        case Int32(SDLK_p.rawValue): self = .p
        case Int32(SDLK_q.rawValue): self = .q
        default: self = .other
        }
    }

    var scancode: SDL_Scancode? {
        switch self {
        case .left: SDL_SCANCODE_LEFT
        case .right: SDL_SCANCODE_RIGHT
        case .up: SDL_SCANCODE_UP
        case .down: SDL_SCANCODE_DOWN
        case .space: SDL_SCANCODE_SPACE
        case .enter: SDL_SCANCODE_RETURN
        case .escape: SDL_SCANCODE_ESCAPE
        case .p: SDL_SCANCODE_P
        case .q: SDL_SCANCODE_Q
        case .other: nil
        }
    }
}
#endif
