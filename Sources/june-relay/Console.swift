import Foundation

/// Writes to stdout without buffering surprises: the first line of `dev-broker` and `june-stub` is read
/// by scripts and tests as soon as it is written.
enum Console {
    static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
