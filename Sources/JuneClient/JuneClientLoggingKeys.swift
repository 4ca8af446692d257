import Logging

/// Metadata keys the June client logs with.
enum JuneClientLoggingKeys {
    static let endpoint = "june.endpoint"
    static let statusCode = "http.response.status_code"
    static let error = "error"
}
