import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who holds a TCP port on this host, found best-effort from Linux's `/proc`: the listening socket's
/// inode from `/proc/net/tcp` and `/proc/net/tcp6`, then the process with a descriptor on that inode
/// (`/proc/<pid>/fd/*` → `socket:[inode]`). Processes of other users or PID namespaces may not be
/// readable; then only the socket's owner uid is known. Elsewhere than Linux: nothing is found.
struct PortHolder: Sendable, CustomStringConvertible {
    var pid: Int32?
    var name: String?
    var uid: Int?

    var description: String {
        if let pid {
            return "pid \(pid)" + (name.map { " (\($0))" } ?? "")
        }
        return "a socket of uid \(uid.map(String.init) ?? "?") whose process is not visible to this one"
    }

    /// The holder of a listening socket on `tcpPort`, or nil when none is found.
    static func find(tcpPort: Int, procRoot: String = "/proc") -> PortHolder? {
        let sockets = ["net/tcp", "net/tcp6"].flatMap { listeningSockets(in: "\(procRoot)/\($0)", port: tcpPort) }
        guard let socket = sockets.first else { return nil }
        let inodes = Set(sockets.map(\.inode))
        if let (pid, name) = process(holdingAnyOf: inodes, procRoot: procRoot) {
            return PortHolder(pid: pid, name: name, uid: socket.uid)
        }
        return PortHolder(pid: nil, name: nil, uid: socket.uid)
    }

    /// Listening sockets (state 0A) on `port` in one `/proc/net/tcp`-format table: (inode, uid).
    static func listeningSockets(in table: String, port: Int) -> [(inode: String, uid: Int?)] {
        guard let text = readWholeFile(table) else { return [] }
        var found: [(inode: String, uid: Int?)] = []
        for line in text.split(separator: "\n").dropFirst() {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[3] == "0A" else { continue }
            guard let colon = fields[1].lastIndex(of: ":"),
                let localPort = Int(fields[1][fields[1].index(after: colon)...], radix: 16),
                localPort == port
            else { continue }
            let inode = String(fields[9])
            guard inode != "0" else { continue }
            found.append((inode, Int(fields[7])))
        }
        return found
    }

    /// The first process with a descriptor on one of the socket inodes, with its name.
    private static func process(holdingAnyOf inodes: Set<String>, procRoot: String) -> (Int32, String?)? {
        let targets = Set(inodes.map { "socket:[\($0)]" })
        let files = FileManager.default
        guard let entries = try? files.contentsOfDirectory(atPath: procRoot) else { return nil }
        for entry in entries {
            guard let pid = Int32(entry) else { continue }
            let fdDirectory = "\(procRoot)/\(entry)/fd"
            guard let descriptors = try? files.contentsOfDirectory(atPath: fdDirectory) else { continue }
            for descriptor in descriptors {
                guard let link = try? files.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(descriptor)"),
                    targets.contains(link)
                else { continue }
                return (pid, processName(of: entry, procRoot: procRoot))
            }
        }
        return nil
    }

    /// The process's name (`/proc/<pid>/comm`). Not its command line: another program's arguments may
    /// hold secrets, and this text is logged.
    private static func processName(of pid: String, procRoot: String) -> String? {
        readWholeFile("\(procRoot)/\(pid)/comm")?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The whole file, read until end of file. `/proc` files report size 0 and come in page-sized
    /// pieces: Foundation's `String(contentsOfFile:)` returns only the first piece (about 4 KB, some 27
    /// sockets of `/proc/net/tcp`), so on a busy host the port's socket would not be found.
    static func readWholeFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
