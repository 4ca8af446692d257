import ArgumentParser
import Foundation
import JuneTransform

/// `june-relay transform`: stdin one event per line → stdout one result per line, in order.
struct TransformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transform",
        abstract: "Transform RudderStack events (one JSON per line on stdin) into June requests (one per line on stdout)."
    )

    @Option(help: "Write key for the Authorization header in the output (omitted when not given).")
    var writeKey: String?

    @Option(help: "June API base URL used in the output URLs.")
    var juneURL = JuneAPI.defaultBaseURL

    @Option(help: "Largest accepted event in bytes.")
    var maxEventBytes = JuneTransformer.defaultMaxEventBytes

    func run() throws {
        let transformer = JuneTransformer(maxEventBytes: maxEventBytes)
        let renderer = TransformLineRenderer(juneURL: juneURL, writeKey: writeKey)
        let input = FileHandle.standardInput.readDataToEndOfFile()
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 2)
        var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        for var line in lines {
            if line.last == 0x0D { line = line.dropLast() }
            output += renderer.render(transformer.transform(Array(line)))
            output.append(0x0A)
            if output.count > 1 << 20 {
                FileHandle.standardOutput.write(Data(output))
                output.removeAll(keepingCapacity: true)
            }
        }
        FileHandle.standardOutput.write(Data(output))
    }
}
