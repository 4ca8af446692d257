import MiniHTTPServer
import Synchronization

extension JuneStubResponder {
    /// `GET /message-ids?user=U` → `{"user":"U","messageIds":[…]}`: the messageIds of every batch item of
    /// that user the stub received, accepted or refused, in arrival order (404 if none).
    func handleMessageIDs(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let user = request.queryParameter("user") else {
            return .json(#"{"error":"missing user parameter"}"#, status: 400)
        }
        guard let ids = self.messageIDsReceived(user: user) else {
            return .json(#"{"error":"no batch items received for this user"}"#, status: 404)
        }
        let list = ids.map(Self.jsonString).joined(separator: ",")
        return .json(#"{"user":\#(Self.jsonString(user)),"messageIds":[\#(list)]}"#)
    }

    /// `POST /control/reject-hook?enabled=false` stops refusing `stub:reject` events (`true` again).
    func handleRejectHook(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let text = request.queryParameter("enabled"), let enabled = Bool(text) else {
            return .json(#"{"error":"enabled must be true or false"}"#, status: 400)
        }
        self.setRejectHook(enabled)
        return .json(#"{"rejectHook":\#(enabled)}"#)
    }

    func messageIDsReceived(user: String) -> [String]? {
        self.state.withLock { $0.ledger.messageIDsReceived(user: user) }
    }

    func setRejectHook(_ enabled: Bool) {
        self.state.withLock { $0.rejectHook = enabled }
    }
}
