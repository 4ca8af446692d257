import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain listening TCP socket on 0.0.0.0 (no SO_REUSEADDR), held by the test process: something else
/// on the host that already took a port. Closed by ``close()`` or when released.
final class ListeningSocket: @unchecked Sendable {
    // @unchecked: `fd` is written only by `close()`, which the owning test calls once.
    private(set) var fd: Int32
    let port: Int

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Listens on `port` (0: a port the kernel picks).
    init(port: Int = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = INADDR_ANY
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure(description: "bind/listen on port \(port) failed: errno \(code)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

/// Breaks another process's listening socket from outside, as a failing kernel, a sidecar or an
/// operator's mistake could: the socket is duplicated into this process with `pidfd_getfd(2)` (Linux
/// 5.6+, glibc 2.36+, the caller may ptrace the target: here it is our own child) and shut down, so the
/// target's `accept` fails and its server channel closes. The target process is not otherwise touched.
enum ForeignSocket {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    private typealias PidfdGetfd = @convention(c) (Int32, Int32, UInt32) -> Int32

    /// Shuts down the socket that `pid` listens with on TCP `port`.
    static func shutDownListeningSocket(pid: Int32, port: Int) throws {
        let inodes = listeningInodes(port: port)
        guard !inodes.isEmpty else { throw Failure(description: "no listening socket on port \(port) in /proc/net/tcp{,6}") }
        guard let target = descriptor(of: pid, onAnyOf: inodes) else {
            throw Failure(description: "pid \(pid) holds no descriptor on the listening socket of port \(port)")
        }
        guard let handle = dlopen(nil, RTLD_NOW),
            let openSymbol = dlsym(handle, "pidfd_open"),
            let getfdSymbol = dlsym(handle, "pidfd_getfd")
        else { throw Failure(description: "pidfd_open/pidfd_getfd not found in libc (glibc 2.36+ needed)") }
        let pidfdOpen = unsafeBitCast(openSymbol, to: PidfdOpen.self)
        let pidfdGetfd = unsafeBitCast(getfdSymbol, to: PidfdGetfd.self)
        let pidfd = pidfdOpen(pid, 0)
        guard pidfd >= 0 else { throw Failure(description: "pidfd_open(\(pid)) failed: errno \(errno)") }
        defer { close(pidfd) }
        let copy = pidfdGetfd(pidfd, target, 0)
        guard copy >= 0 else { throw Failure(description: "pidfd_getfd(\(pid), \(target)) failed: errno \(errno)") }
        defer { close(copy) }
        guard shutdown(copy, Int32(SHUT_RDWR)) == 0 else {
            throw Failure(description: "shutdown() of pid \(pid)'s socket \(target) failed: errno \(errno)")
        }
    }

    /// Inodes of the listening (state 0A) sockets on `port`.
    static func listeningInodes(port: Int) -> Set<String> {
        var inodes: Set<String> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = readWholeFile(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                    Int(fields[1][fields[1].index(after: colon)...], radix: 16) == port
                else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        return inodes
    }

    /// The whole file, read until end of file (Foundation's `String(contentsOfFile:)` returns only the
    /// first 4 KB of a `/proc` file, too little for `/proc/net/tcp` on a busy host; `FileHandle` reads on
    /// to the end).
    static func readWholeFile(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    /// The descriptor number in `pid` that refers to one of the socket inodes.
    private static func descriptor(of pid: Int32, onAnyOf inodes: Set<String>) -> Int32? {
        let directory = "/proc/\(pid)/fd"
        let targets = Set(inodes.map { "socket:[\($0)]" })
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let number = Int32(entry),
                let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(entry)"),
                targets.contains(link)
            else { continue }
            return number
        }
        return nil
    }
}
