import JuneTransform
import Testing

@Suite struct JSONFieldReaderTests {
    private let body = Array(
        #"{"userId":"u\u00e9","seq":9007199254740993,"properties":{"seq":42,"f":1.5,"ok":true,"nested":{"x":null}},"list":[1,"a"],"userId":"last"}"#
            .utf8
    )

    @Test func readsTopLevelFields() throws {
        let fields = try JSONFieldReader.topLevelFields(body)
        #expect(fields["userId"]?.string == "last")
        #expect(fields["seq"]?.jsonText == "9007199254740993")
        #expect(fields["seq"]?.int == 9_007_199_254_740_993)
        #expect(fields["list"]?.elements?.map(\.jsonText) == ["1", #""a""#])
        #expect(fields["missing"] == nil)
    }

    @Test func readsNestedPaths() throws {
        #expect(try JSONFieldReader.value(atPath: "properties.seq", in: body)?.int == 42)
        #expect(try JSONFieldReader.value(atPath: "properties.f", in: body)?.double == 1.5)
        #expect(try JSONFieldReader.value(atPath: "properties.ok", in: body)?.bool == true)
        #expect(try JSONFieldReader.value(atPath: "properties.nested.x", in: body)?.isNull == true)
        #expect(try JSONFieldReader.value(atPath: "properties.nope.x", in: body) == nil)
        #expect(try JSONFieldReader.parse(body)["seq"]?.scalarText == "9007199254740993")
    }

    @Test func rejectsInvalidJSON() {
        #expect(throws: TransformError.self) { try JSONFieldReader.topLevelFields(Array("{".utf8)) }
        #expect(throws: TransformError.self) { try JSONFieldReader.topLevelFields(Array("[1]".utf8)) }
    }
}
