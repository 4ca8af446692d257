#if canImport(Glibc)
import Glibc

/// glibc's `mallopt` (from `<malloc.h>`, which the Glibc module does not export).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Process-wide memory settings for `run`.
enum MemoryTuning {
    /// glibc's `M_ARENA_MAX` parameter of `mallopt`.
    private static let arenaMaxParameter: Int32 = -8

    /// glibc gives every thread that allocates its own malloc arena (up to 8 per core). The relay's
    /// record bytes are allocated on librdkafka's threads, NIO's event loops and Swift's cooperative
    /// threads and freed on others, so each arena keeps freed chunks of large records it cannot hand
    /// back: with 16 KB events peak RSS was ~460 MB with glibc's default and ~340 MB with two arenas
    /// (debug build). `MALLOC_ARENA_MAX` in the environment still wins. Call before threads allocate.
    static func limitMallocArenas(_ arenas: Int32 = 2) {
        #if canImport(Glibc)
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        _ = glibcMallopt(arenaMaxParameter, arenas)
        #endif
    }
}
