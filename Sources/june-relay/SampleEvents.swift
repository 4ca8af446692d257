import Foundation

/// Sample RudderStack events for `demo`, `dev-produce` and `make bench`: a realistic ~650-byte track
/// event with context, plus identify/page/group, each user's events numbered (`properties.seq` or
/// `traits.seq`) so the June stub can check per-user order. Every `invalidEvery`-th event is broken
/// in one of several ways (not JSON, missing userId, unsupported type, not an object).
struct SampleEvents {
    let users: Int
    let invalidEvery: Int
    /// Users `0..<hotUsers` send every fifth event (20%); the others share the rest. 0 = uniform.
    let hotUsers: Int
    private var nextSeq: [Int]
    private(set) var produced = 0
    private(set) var invalid = 0

    init(users: Int, invalidEvery: Int = 0, skewed: Bool = false) {
        self.users = max(1, users)
        self.invalidEvery = invalidEvery
        self.hotUsers = skewed && self.users >= 2 ? max(1, self.users / 100) : 0
        self.nextSeq = Array(repeating: 0, count: self.users)
    }

    /// The next event: its Kafka key (the user id) and its bytes.
    mutating func next() -> (key: [UInt8], value: [UInt8]) {
        let index = produced
        produced += 1
        let user: Int
        if hotUsers == 0 {
            user = index % users
        } else if index % 5 == 0 {
            user = (index / 5) % hotUsers
        } else {
            user = hotUsers + (index - index / 5 - 1) % (users - hotUsers)
        }
        let userID = "user-\(user)"
        if invalidEvery > 0, index % invalidEvery == invalidEvery - 1 {
            invalid += 1
            return (Array(userID.utf8), Array(Self.invalidEvent(variant: index / invalidEvery, userID: userID).utf8))
        }
        let seq = nextSeq[user]
        nextSeq[user] += 1
        let timestamp =
            "2026-11-26T12:\(String(format: "%02d", (index / 60_000) % 60)):\(String(format: "%02d", (index / 1000) % 60)).\(String(format: "%03d", index % 1000))Z"
        let json: String
        switch seq % 10 {
        case 0:
            json = """
                {"type":"identify","userId":"\(userID)","anonymousId":"anon-\(user)","messageId":"m-\(index)","originalTimestamp":"\(timestamp)","context":{"traits":{"seq":\(seq),"email":"\(userID)@example.com","plan":"pro"},"library":{"name":"rudder-js","version":"3.0.0"},"locale":"en-US"}}
                """
        case 5:
            json = """
                {"type":"page","userId":"\(userID)","anonymousId":"anon-\(user)","messageId":"m-\(index)","name":"Pricing","properties":{"seq":\(seq),"path":"/pricing","url":"https://example.com/pricing","title":"Pricing"},"originalTimestamp":"\(timestamp)","context":{"page":{"path":"/pricing"},"library":{"name":"rudder-js","version":"3.0.0"}}}
                """
        case 9:
            json = """
                {"type":"group","userId":"\(userID)","anonymousId":"anon-\(user)","messageId":"m-\(index)","groupId":"org-\(user % 97)","traits":{"seq":\(seq),"name":"Org \(user % 97)","plan":"enterprise"},"originalTimestamp":"\(timestamp)","context":{"library":{"name":"rudder-js","version":"3.0.0"}}}
                """
        default:
            json = """
                {"type":"track","event":"Product Reviewed","userId":"\(userID)","anonymousId":"anon-\(user)","messageId":"m-\(index)","rudderId":"553b5522-c575-40a7-8072-9741c5f9a647","properties":{"seq":\(seq),"review_id":"r-\(index)","product_id":"p-\(index % 500)","rating":\(index % 5 + 1),"review_body":"Average product, expected much more.","price":19.99},"originalTimestamp":"\(timestamp)","sentAt":"\(timestamp)","channel":"web","context":{"ip":"203.0.113.7","library":{"name":"rudder-js","version":"3.0.0"},"locale":"en-US","userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","page":{"path":"/products/\(index % 500)","url":"https://example.com/products/\(index % 500)"},"os":{"name":"Linux"},"screen":{"width":1920,"height":1080}}}
                """
        }
        return (Array(userID.utf8), Array(json.utf8))
    }

    private static func invalidEvent(variant: Int, userID: String) -> String {
        switch variant % 4 {
        case 0: return #"{"type":"track","event":"Broken","userId":"# + userID  // truncated JSON
        case 1: return #"{"type":"track","event":"No user","properties":{"a":1},"originalTimestamp":"2026-11-26T12:00:00Z"}"#
        case 2: return #"{"type":"alias","userId":"\#(userID)","previousId":"old","originalTimestamp":"2026-11-26T12:00:00Z"}"#
        default: return #"["not","an","object"]"#
        }
    }
}
