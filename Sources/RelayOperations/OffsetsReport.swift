/// The text `offsets show` and `offsets reset` print: aligned columns, one row per partition.
///
/// ```text
/// group june-relay, topic events
/// PARTITION  COMMITTED  LOW  END  LAG  DONE-ABOVE
/// 0          12         0    20   8    3
/// 1          -          0    15   15   0
/// total lag: 23
/// ```
public enum OffsetsReport {
    /// The `offsets show` table (`-` for a partition without a committed offset). DONE-ABOVE counts the
    /// offsets above the committed one that the relay's commit metadata records as done.
    public static func render(_ snapshot: GroupOffsetsSnapshot) -> String {
        var rows = [["PARTITION", "COMMITTED", "LOW", "END", "LAG", "DONE-ABOVE"]]
        for row in snapshot.partitions {
            rows.append([
                String(row.partition), row.committed.map(String.init) ?? "-", String(row.low), String(row.high), String(row.lag),
                String(row.doneAbove),
            ])
        }
        return "group \(snapshot.group), topic \(snapshot.topic)\n" + table(rows) + "total lag: \(snapshot.totalLag)\n"
    }

    /// The reset plan: per partition the current and new offset, the watermarks and the lag after.
    public static func render(_ plan: OffsetResetPlan, modeDescription: String? = nil) -> String {
        var rows = [["PARTITION", "CURRENT", "NEW", "LOW", "END", "LAG-AFTER", "NOTE"]]
        for change in plan.changes {
            var note = change.isMove ? "" : "unchanged"
            if let requested = change.clampedFrom {
                note = "clamped from \(requested)"
            }
            rows.append([
                String(change.partition), change.current.map(String.init) ?? "-", String(change.target),
                String(change.low), String(change.high), String(change.lagAfter), note,
            ])
        }
        let mode = modeDescription ?? plan.mode.description
        return "reset plan for group \(plan.group), topic \(plan.topic) (\(mode)):\n" + table(rows)
    }

    /// Left-aligned columns separated by two spaces; trailing blanks trimmed.
    static func table(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = Array(repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var text = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 2)
            }
            while line.last == " " { line.removeLast() }
            text += line + "\n"
        }
        return text
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
