// transform-bench: single-threaded throughput of JuneTransformer on a typical track event.
//
//   swift build -c release --product transform-bench && .build/release/transform-bench [--iterations N] [--quiet]
//
// scripts/bench-transform.sh also measures allocations per event with valgrind.

import JuneTransform

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A typical RudderStack JS-SDK track event with context (library, ip, userAgent, locale, page,
/// traits), about 650 bytes.
let event = """
    {"type":"track","event":"Product Reviewed","userId":"5136633649","anonymousId":"bf412108-0357-4330-b119-7305e767823c",\
    "channel":"web",\
    "properties":{"review_id":"12345","product_id":"123","rating":3,"review_body":"Average product, expected much more."},\
    "context":{"library":{"name":"RudderLabs JavaScript SDK","version":"2.48.1"},"ip":"203.0.113.42",\
    "userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15",\
    "locale":"en-US","page":{"path":"/products/123","url":"https://shop.example.com/products/123"},\
    "traits":{"email":"johndoe@example.com","name":"John Doe"}},\
    "originalTimestamp":"2022-01-20T13:39:21.032Z"}
    """
let bytes = Array(event.utf8)

var iterations = 2_000_000
var quiet = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--iterations":
        guard let value = arguments.next().flatMap({ Int($0) }), value > 0 else {
            print("--iterations needs a positive integer")
            exit(2)
        }
        iterations = value
    case "--quiet": quiet = true
    default:
        print("usage: transform-bench [--iterations N] [--quiet]")
        exit(2)
    }
}

let transformer = JuneTransformer()
guard case .success(let sample) = transformer.transform(bytes) else {
    print("benchmark event failed to transform")
    exit(1)
}

var checksum = 0
let clock = ContinuousClock()
let elapsed = clock.measure {
    for _ in 0..<iterations {
        if case .success(let request) = transformer.transform(bytes) {
            checksum &+= request.body.count &+ (request.orderingKey?.utf8.count ?? 0)
        }
    }
}
let seconds = elapsed.inSeconds

if !quiet {
    print("event size:      \(bytes.count) bytes (body \(sample.body.count) bytes, ordering key \(sample.orderingKey ?? "nil"))")
    print("iterations:      \(iterations)")
    print("elapsed:         \(String(format3(seconds))) s")
    print("throughput:      \(Int(Double(iterations) / seconds)) events/s (one core, single thread)")
    print("latency:         \(format3(seconds * 1e9 / Double(iterations))) ns/event")
    print("throughput:      \(format3(Double(iterations) * Double(bytes.count) / seconds / 1e6)) MB/s of input")
}
if checksum == 42 { print("") }  // keep the work observable

func format3(_ x: Double) -> String {
    let scaled = (x * 1000).rounded() / 1000
    return "\(scaled)"
}
