/// Runs `body`, then `cleanUp` whether or not `body` threw. When `body` threw, that error is rethrown
/// and a clean-up error is dropped; otherwise a clean-up error is thrown.
package func withCleanUp<T>(_ body: () async throws -> T, cleanUp: () async throws -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        try? await cleanUp()
        throw error
    }
    try await cleanUp()
    return result
}
